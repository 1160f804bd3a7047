/* version.h - the gateway's version (also sent as ClientSoftwareVersion). */
#ifndef KG_VERSION_H
#define KG_VERSION_H
#define KG_VERSION_STRING "0.1.0"
#endif
