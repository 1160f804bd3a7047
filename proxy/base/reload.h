/* reload.h - the one way reloadable state is replaced (policy, users, TLS
 * contexts), PgBouncer's rule: build the new object, validate it, and
 * only then swap it in; a failed build leaves the current one in place.
 *
 *   build(arg) --NULL + message--> keep the current object
 *        \------object----------> swap: generation + 1; readers that hold
 *                                 the old object keep it until they let
 *                                 go (its own reference count frees it)
 *
 * Readers call kg_slot_acquire (a reference) and compare
 * kg_slot_generation (one atomic load) to notice a swap cheaply. */
#ifndef KG_BASE_RELOAD_H
#define KG_BASE_RELOAD_H

#include <stddef.h>
#include <stdint.h>

#include "base/reload-t.h"

/* A new reference to the current object (NULL when none), and its
 * generation when gen is not NULL. Thread safe. */
void *kg_slot_acquire(struct kg_slot *s, uint64_t *gen);
/* Bumped by every swap. One atomic load; thread safe. */
uint64_t kg_slot_generation(struct kg_slot *s);
/* Makes obj (may be NULL) current, taking over the caller's reference,
 * and drops the slot's reference to the previous object. */
void kg_slot_swap(struct kg_slot *s, void *obj);
/* Builds a new object and swaps it in when build succeeded. 0, or -1 with
 * the builder's message in err (the current object stays). */
int kg_slot_reload(struct kg_slot *s, kg_slot_build_fn build, const void *arg, char *err,
		   size_t errlen);

#endif
