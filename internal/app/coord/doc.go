// Package coord coordinates the executions of one service: who may touch
// it (the lease), how a waiting execution is parked and woken (its task
// token), how the holder updates the service without landing over a newer
// deploy (the guarded UpdateService), and how a revision the holder did not
// put there is told apart (replaced by a superseded execution's late update,
// or changed outside pushdeploy). The handlers are adapters around it.
//
// Invariants:
//
//  1. One holder. At most one execution holds a service's lease. A holder
//     is ordered by (seq, tie, execution ARN); an execution of a higher
//     order takes the lease from a lower one (Preempt), never the reverse,
//     even after the higher one released it: the item keeps the highest
//     seq seen. IfFree (alarm rollbacks) takes it only when nobody holds it
//     live: the lease is the atomic "is a deploy in flight?" guard.
//  2. Superseded means hands off. An execution that lost the lease learns
//     it at its next Check, Renew, Intend, Park or Release (SupersededError)
//     and must not touch the service again. Acquire returns the previous
//     holder's token; the new holder wakes it (WakeClaimed) so it finishes
//     SUPERSEDED now, not at its timeout.
//  3. One token, woken once, when decided. A holder parks at most one wait
//     (Park stores its task token in the lease with the Wait, its deadline
//     included, replacing any). A waker judges the Wait (Judge) and wakes
//     it only with a decided outcome; undecided, the wait stays parked. Whoever wakes it first
//     claims the token with a conditional delete (ClearToken) and only then
//     sends SendTaskSuccess: an event, the holder's own first look and a
//     superseded execution's late update never wake one wait twice.
//  4. One stale-token rule. SendTaskSuccess failing with TaskTimedOut,
//     TaskDoesNotExist or InvalidToken means the wait already ended on its
//     own (its timeout, a stop): the wake is a no-op (WakeStale), never an
//     error. Every other failure is returned.
//  5. Announce before you update. Before each UpdateService attempt (every
//     SDK retry included) the holder records the revision in the lease
//     (Intend) under the holder condition. A newer execution taking the
//     lease inherits the pending revisions as possible late updates before
//     it can look at the service.
//  6. Late updates are repaired, outside changes are left alone. An update
//     that lands after its execution lost the lease is marked (MarkLateUpdate)
//     and wakes the new holder. The holder that finds a foreign revision
//     classifies it: one of its plan's own revisions means the deploy was
//     undone; one marked as a late update is replaced (re-applied); anything
//     else is a change made outside pushdeploy, which it never fights.
//  7. Release keeps the order. Release frees the lease but keeps seq (and
//     lastHolder, so a retried release is fine); the token, pending and
//     late updates concern one tenure and go with it.
package coord
