/* workloads.h - the CPU work of the CPU lessons, the same in every model.
 *
 * A workload is a function of the task number alone, so cpu_sync,
 * cpu_threads and cpu_multiprocessing compute the same `result` whatever
 * order the tasks finish in. How a lesson uses it:
 *
 *   workload_prepare(&o);                  once, before any worker starts
 *   c = task_context_open();               once per worker
 *   task_run(c, i, &r);                    for each task i the worker takes
 *   task_result_add(&total, &r);           combine, in any order
 *   task_context_close(c);
 *   task_result_text(&total, buf);         the record's result=
 *   workload_release();
 */
#ifndef WORKLOADS_H
#define WORKLOADS_H

#include <stdbool.h>

#include "lab.h"

/* What one task leaves behind; also the running total of many. Every
 * workload combines by adding `sum` or XOR-ing `block`: both ignore order. */
struct task_result {
    unsigned __int128 sum;      /* sumsq, fib, prime (1 if prime) */
    unsigned char block[32];    /* sha256: the chain's last block */
};

/* What one worker keeps from task to task (its own hashing context). */
struct task_context;

/* Check o->workload, fill in the default size (o->size 0), refuse sizes
 * that cannot work (exit 2), and set up what is fetched once. */
void workload_prepare(struct lab_cpu *o);
void workload_release(void);

struct task_context *task_context_open(void);
void task_context_close(struct task_context *c);

/* Have fn(arg) called between a task's chunks (every 20 to 50 us of
 * work): the "loop back-edge" where cpu_threads --gil checks whether another
 * thread has asked for the emulated GIL. */
void task_context_on_chunk(struct task_context *c, void (*fn)(void *),
                           void *arg);

/* Run task i into *r. False when lab_stop_signal cut it short: long tasks
 * look up from their loops every 50 us or so. */
bool task_run(struct task_context *c, long long i, struct task_result *r);

void task_result_add(struct task_result *total, const struct task_result *r);

/* The combined result as the record prints it: decimal, or hex for sha256. */
const char *task_result_text(const struct task_result *total,
                             char buf[static 65]);

#endif
