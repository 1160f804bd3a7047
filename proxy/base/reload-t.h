/* reload-t.h - a slot holding the current version of a reloadable object
 * (see reload.h). The object keeps its own reference count; the slot only
 * knows how to take and drop a reference. */
#ifndef KG_BASE_RELOAD_T_H
#define KG_BASE_RELOAD_T_H

#include <pthread.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>

/* Builds a new object from arg; NULL with a message on failure. */
typedef void *(*kg_slot_build_fn)(const void *arg, char *err, size_t errlen);

struct kg_slot {
	pthread_mutex_t lock;          /* guards obj and the reference taken
	                                  on it; never held while deciding */
	void *obj;                     /* current object, or NULL */
	_Atomic uint64_t generation;   /* bumped on every swap */
	void (*ref)(void *obj);        /* take a reference (obj not NULL) */
	void (*unref)(void *obj);      /* drop one; the last frees (obj may be NULL) */
};

#define KG_SLOT_INIT(ref_fn, unref_fn) \
	{ PTHREAD_MUTEX_INITIALIZER, NULL, 0, (ref_fn), (unref_fn) }

#endif
