/* current_policy.c - the policy in force (see current_policy.h). */
#include "enforce/current_policy.h"
#include "acl/policy.h"
#include "base/reload.h"

static void policy_ref(void *p) { kg_policy_ref(p); }
static void policy_unref(void *p) { kg_policy_unref(p); }

static struct kg_slot slot = KG_SLOT_INIT(policy_ref, policy_unref);

void kg_current_policy_swap(struct kg_policy *p)
{
	kg_slot_swap(&slot, p);
}

struct kg_policy *kg_current_policy(void)
{
	return kg_slot_acquire(&slot, NULL);
}

uint64_t kg_current_policy_generation(void)
{
	return kg_slot_generation(&slot);
}

static void *build(const void *path, char *err, size_t errlen)
{
	return kg_policy_load(path, err, errlen);
}

int kg_current_policy_reload(const char *path, char *err, size_t errlen)
{
	return kg_slot_reload(&slot, build, path, err, errlen);
}
