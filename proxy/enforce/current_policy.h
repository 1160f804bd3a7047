/* current_policy.h - the policy every connection decides with. acl/ is a
 * pure library; which policy is in force is the gateway's state, kept in
 * a reload slot (base/reload.h): a new policy is swapped in whole, and
 * each connection follows a swap from its next request. */
#ifndef KG_ENFORCE_CURRENT_POLICY_H
#define KG_ENFORCE_CURRENT_POLICY_H

#include <stddef.h>
#include <stdint.h>

struct kg_policy;

/* Takes over p's reference (p may be NULL: no policy, every decision
 * denies). */
void kg_current_policy_swap(struct kg_policy *p);
/* A new reference, or NULL. */
struct kg_policy *kg_current_policy(void);
/* Changes on every swap; one atomic load. */
uint64_t kg_current_policy_generation(void);
/* Loads the policy file and swaps it in when it is valid. 0, or -1 with a
 * message (the current policy stays). */
int kg_current_policy_reload(const char *path, char *err, size_t errlen);

#endif
