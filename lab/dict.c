/* dict.c - the manager lesson's dict, each store undoable (see dict.h). */
#include "dict.h"

#include <stdatomic.h>
#include <string.h>

void dict_apply(struct dict *d, struct dict_item *m)
{
    int i = 0;
    while (i < d->used && memcmp(d->slots[i].key, m->key, sizeof m->key) != 0)
        i++;
    if (m->set && i < DICT_MAX) {
        d->undo.old = d->slots[i];  /* first what the store overwrites */
        d->undo.used = d->used;
        atomic_store_explicit(&d->undo.writing, i + 1, memory_order_release);
        d->slots[i] = *m;
        if (i == d->used)
            d->used++;
        atomic_store_explicit(&d->undo.writing, 0, memory_order_release);
    }
    m->found = i < d->used;
    m->value = m->found ? d->slots[i].value : 0;
}

bool dict_undo(struct dict *d)
{
    int writing = atomic_load(&d->undo.writing);
    if (writing == 0)
        return false;
    d->slots[writing - 1] = d->undo.old;
    d->used = d->undo.used;
    atomic_store(&d->undo.writing, 0);
    return true;
}
