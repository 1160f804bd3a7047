/* cli_audit.h - `kafka-gateway audit ...`: tools for the audit log. */
#ifndef KG_CLI_AUDIT_H
#define KG_CLI_AUDIT_H

/*
 * argv[1] is "audit", argv[2] the subcommand:
 *
 *   audit verify [--hmac-key-file F] [--live] FILE...
 *
 * FILEs are given in rotation order, oldest first, the live file last.
 * Prints "ok: ..." and returns 0 when the chain is intact; prints
 * "FILE:LINE: KIND: what" (KIND: edited, deleted, inserted, reordered,
 * truncated) and returns 1 at the first break; 2 on bad usage or a file
 * that cannot be read.
 */
int kg_cli_audit(int argc, char **argv);

#endif
