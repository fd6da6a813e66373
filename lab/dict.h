/* dict.h - the manager lesson's dict: fixed-size items, keys searched in
 * order, every store undoable.
 *
 * sum_chunks_manager keeps one in its manager process and, with
 * --shared-memory, one in memory every process shares, under a robust
 * mutex. A process killed half-way through a store would leave a torn item
 * there, so each store first notes what it overwrites (the undo record);
 * dict_undo() puts that back. The next holder of the lock calls it when
 * pthread_mutex_lock says that the last owner died (EOWNERDEAD).
 */
#ifndef DICT_H
#define DICT_H

#include <pthread.h>
#include <stdbool.h>

enum { DICT_MAX = 1024 };       /* items; the lesson's chunks: a sane number */

/* An item, and a request that the manager turns into its answer: fixed
 * size (48 bytes, no padding), so one SOCK_SEQPACKET send is one message. */
struct dict_item { unsigned __int128 value; char key[30]; bool set, found; };

struct dict {
    pthread_mutex_t lock;           /* in shared memory; the manager's: unused */
    int used;
    struct dict_item slots[DICT_MAX];
    struct {                        /* the store under way, if any */
        _Atomic int writing;        /* 1 + the slot it writes; 0: none */
        int used;                   /* used before it */
        struct dict_item old;       /* the slot before it */
    } undo;
};                                  /* zeroed memory: an empty dict */

/* Set m->key to m->value (when m->set), or get it: m->found and m->value
 * say what the dict holds afterwards. */
void dict_apply(struct dict *d, struct dict_item *m);

/* Undo the store a dead process left half-done; false if there was none. */
bool dict_undo(struct dict *d);

#endif
