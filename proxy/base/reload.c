/* reload.c - swapping reloadable objects (see reload.h). */
#include "base/reload.h"

void *kg_slot_acquire(struct kg_slot *s, uint64_t *gen)
{
	pthread_mutex_lock(&s->lock);
	void *obj = s->obj;
	if (obj)
		s->ref(obj);
	if (gen)
		*gen = atomic_load_explicit(&s->generation, memory_order_relaxed);
	pthread_mutex_unlock(&s->lock);
	return obj;
}

uint64_t kg_slot_generation(struct kg_slot *s)
{
	return atomic_load_explicit(&s->generation, memory_order_acquire);
}

void kg_slot_swap(struct kg_slot *s, void *obj)
{
	pthread_mutex_lock(&s->lock);
	void *old = s->obj;
	s->obj = obj;
	/* Bumped after the pointer changed and before the lock is released:
	 * whoever sees the new generation then gets the new object. */
	atomic_fetch_add_explicit(&s->generation, 1, memory_order_release);
	pthread_mutex_unlock(&s->lock);
	s->unref(old);
}

int kg_slot_reload(struct kg_slot *s, kg_slot_build_fn build, const void *arg, char *err,
		   size_t errlen)
{
	void *obj = build(arg, err, errlen);
	if (!obj)
		return -1;
	kg_slot_swap(s, obj);
	return 0;
}
