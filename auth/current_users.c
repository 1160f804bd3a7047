/* current_users.c - the credential set SASL logins are checked against,
 * swapped whole on reload (base/reload.h; users.h declares these). */
#include "auth/users.h"
#include "base/reload.h"

/* The current set lives in a reload slot (base/reload.h). */
static void users_ref(void *u) { kg_users_acquire(u); }
static void users_unref(void *u) { kg_users_release(u); }
static struct kg_slot cur_slot = KG_SLOT_INIT(users_ref, users_unref);

void kg_users_swap(struct kg_users *u)
{
	kg_slot_swap(&cur_slot, u);
}

struct kg_users *kg_users_current(void)
{
	return kg_slot_acquire(&cur_slot, NULL);
}

static void *users_build(const void *path, char *err, size_t errlen)
{
	return kg_users_load(path, err, errlen);
}

int kg_users_reload(const char *path, char *err, size_t errlen)
{
	return kg_slot_reload(&cur_slot, users_build, path, err, errlen);
}
