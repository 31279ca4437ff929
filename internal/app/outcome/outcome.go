// Package outcome decides what a deploy's state is from a described service
// and its alarms. Stable is not succeeded: a service that ECS rolled back on
// its own is stable on the old revision, and that deploy failed.
package outcome

import (
	"fmt"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/cloudwatch"
	cwtypes "github.com/aws/aws-sdk-go-v2/service/cloudwatch/types"
	ecstypes "github.com/aws/aws-sdk-go-v2/service/ecs/types"

	"github.com/pushdeploy/pushdeploy/internal/app/contract"
)

// The verdict speaks contract's vocabulary: one status, one cause and one
// phase type for the verdicts, the state document and the records.
type (
	Status = contract.Status
	Cause  = contract.Cause
	Phase  = contract.Phase
)

const (
	InProgress = contract.StatusInProgress
	Completed  = contract.StatusCompleted // the phase passed: rollout completed, or bake window clean
	Failed     = contract.StatusFailed

	CauseInProgress     = contract.CauseInProgress
	CauseCompleted      = contract.CauseCompleted
	CauseBaked          = contract.CauseBaked
	CauseCircuitBreaker = contract.CauseCircuitBreaker
	CauseECSRollback    = contract.CauseECSRollback
	CauseRolloutFailed  = contract.CauseRolloutFailed
	CauseTasksFailing   = contract.CauseTasksFailing
	CauseAlarm          = contract.CauseAlarm
	CauseTimeout        = contract.CauseTimeout
	CauseSuperseded     = contract.CauseSuperseded
	CauseServiceGone    = contract.CauseServiceGone

	// Rollout: did the deployment of Expected complete?
	Rollout = contract.PhaseRollout
	// Bake: the rollout completed; did the bake window pass without alarm?
	Bake = contract.PhaseBake
)

// Alarm is an alarm's current state.
type Alarm struct {
	Name      string
	State     string // OK, ALARM, INSUFFICIENT_DATA
	Reason    string
	UpdatedAt time.Time
}

// MaxAlarmNames is DescribeAlarms' limit on AlarmNames per call.
const MaxAlarmNames = 100

// DescribeAlarmsInput asks for the named alarms of both kinds: without
// AlarmTypes, DescribeAlarms returns metric alarms only, and a composite
// alarm named in pushdeploy:alarms would silently never fire.
func DescribeAlarmsInput(names []string) *cloudwatch.DescribeAlarmsInput {
	return &cloudwatch.DescribeAlarmsInput{
		AlarmNames: names,
		AlarmTypes: []cwtypes.AlarmType{cwtypes.AlarmTypeMetricAlarm, cwtypes.AlarmTypeCompositeAlarm},
	}
}

// AlarmsFrom reads metric and composite alarms from DescribeAlarms.
func AlarmsFrom(out *cloudwatch.DescribeAlarmsOutput) []Alarm {
	var as []Alarm
	for _, a := range out.MetricAlarms {
		as = append(as, Alarm{Name: aws.ToString(a.AlarmName), State: string(a.StateValue), Reason: aws.ToString(a.StateReason), UpdatedAt: aws.ToTime(a.StateUpdatedTimestamp)})
	}
	for _, a := range out.CompositeAlarms {
		as = append(as, Alarm{Name: aws.ToString(a.AlarmName), State: string(a.StateValue), Reason: aws.ToString(a.StateReason), UpdatedAt: aws.ToTime(a.StateUpdatedTimestamp)})
	}
	return as
}

// Input is everything Evaluate looks at.
type Input struct {
	Phase   Phase
	Service ecstypes.Service
	// Expected is the task definition ARN the deploy (or rollback) put on
	// the service; Previous the one it replaced.
	Expected, Previous string
	// DeploymentID is the ECS deployment UpdateService started, if known.
	DeploymentID string
	Alarms       []Alarm
	// AlarmsSince ignores alarms whose state last changed before it (an
	// alarm already in ALARM before the deploy started is not the new
	// version's doing); zero counts every alarm in ALARM.
	AlarmsSince time.Time
	Now         time.Time
	// Deadline ends the rollout phase with CauseTimeout; zero means none.
	Deadline time.Time
	// BakeUntil ends the bake phase with Completed.
	BakeUntil time.Time
	// MaxFailedTasks fails the rollout once the deployment's failed task
	// count reaches it; 0 leaves that to the circuit breaker.
	MaxFailedTasks int
	// ServiceDeployment is the ECS service deployment the update started
	// (DescribeServiceDeployments), when ECS has one: its status decides;
	// without it the deployments array does (older deployments, other
	// controllers).
	ServiceDeployment *ecstypes.ServiceDeployment
	// Undo: the wait is for the service going back (the Undo states): a
	// service deployment that ECS rolled back successfully is the success
	// it waits for, whether ECS rolled back on its own or was asked to
	// (StopServiceDeployment ROLLBACK).
	Undo bool
}

// Result is the verdict and what it was based on.
type Result struct {
	Status Status
	Cause  Cause
	// Reason is a sentence for people.
	Reason string
	// TaskDefinition is the primary deployment's revision.
	TaskDefinition string
	RolloutState   string
	Alarm          string
	FailedTasks    int
	// ServiceDeploymentStatus and LifecycleStage are the service
	// deployment's, when there is one.
	ServiceDeploymentStatus string
	LifecycleStage          string
}

// Decided reports whether the result ends a wait.
func (r Result) Decided() bool { return r.Status != InProgress }

// Evaluate judges in against the rules, in order: the service is gone; the
// primary deployment is not the expected revision (ECS rolled back, or
// someone else deployed); the rollout failed; an alarm fired; too many
// tasks failed; then completion, bake end or timeout.
func Evaluate(in Input) Result {
	if st := aws.ToString(in.Service.Status); st != "ACTIVE" {
		return fail(CauseServiceGone, fmt.Sprintf("service is %s", strings.ToLower(st)), Result{})
	}
	primary, ours := deployments(in)
	r := Result{}
	if primary != nil {
		r.TaskDefinition = aws.ToString(primary.TaskDefinition)
		r.RolloutState = string(primary.RolloutState)
	}
	if primary == nil {
		return progress("no primary deployment yet", r)
	}
	var sdCompleted *bool
	if sd := in.ServiceDeployment; sd != nil {
		r.ServiceDeploymentStatus, r.LifecycleStage = string(sd.Status), string(sd.LifecycleStage)
		if res, decided, completed := serviceDeployment(in, sd, r); decided {
			return res
		} else {
			sdCompleted = completed
		}
	}
	if r.TaskDefinition != in.Expected {
		if ours != nil && ours.RolloutState == ecstypes.DeploymentRolloutStateFailed {
			r.FailedTasks = int(ours.FailedTasks)
			return fail(failedCause(ours), "deployment failed and ECS rolled back to "+r.TaskDefinition+": "+aws.ToString(ours.RolloutStateReason), r)
		}
		if in.Previous != "" && r.TaskDefinition == in.Previous {
			// Once ECS's rollback completes, the failed deployment is gone
			// from the list; its failure is still in the service events.
			if msg := failureEvent(in.Service, in.DeploymentID); msg != "" {
				return fail(eventCause(msg), "ECS rolled back to "+r.TaskDefinition+": "+msg, r)
			}
			return fail(CauseECSRollback, "service went back to the previous revision "+r.TaskDefinition, r)
		}
		return fail(CauseSuperseded, "another deployment replaced ours: the service now runs "+r.TaskDefinition, r)
	}
	r.FailedTasks = int(primary.FailedTasks)
	if primary.RolloutState == ecstypes.DeploymentRolloutStateFailed {
		return fail(failedCause(primary), "deployment failed: "+aws.ToString(primary.RolloutStateReason), r)
	}
	for _, a := range in.Alarms {
		if a.State == "ALARM" && !a.UpdatedAt.Before(in.AlarmsSince) {
			r.Alarm = a.Name
			return fail(CauseAlarm, fmt.Sprintf("alarm %s is in ALARM: %s", a.Name, a.Reason), r)
		}
	}
	if in.MaxFailedTasks > 0 && r.FailedTasks >= in.MaxFailedTasks {
		return fail(CauseTasksFailing, fmt.Sprintf("%d tasks failed to start (limit %d)", r.FailedTasks, in.MaxFailedTasks), r)
	}
	completed := rolloutCompleted(primary, in.Service)
	if sdCompleted != nil {
		completed = *sdCompleted
	}
	switch in.Phase {
	case Bake:
		if !completed {
			// The bake starts after completion; a primary that is no longer
			// complete is a new rollout of the same revision: keep baking.
			return progress("rollout of the same revision in progress during the bake", r)
		}
		if !in.Now.Before(in.BakeUntil) {
			r.Status, r.Cause, r.Reason = Completed, CauseBaked, "bake window passed with no alarm"
			return r
		}
		return progress(fmt.Sprintf("baking until %s", in.BakeUntil.UTC().Format(time.RFC3339)), r)
	default:
		if completed {
			r.Status, r.Cause, r.Reason = Completed, CauseCompleted, "rollout completed on "+r.TaskDefinition
			return r
		}
		if !in.Deadline.IsZero() && !in.Now.Before(in.Deadline) {
			return fail(CauseTimeout, fmt.Sprintf("rollout did not complete by %s (%d/%d tasks running)",
				in.Deadline.UTC().Format(time.RFC3339), primary.RunningCount, primary.DesiredCount), r)
		}
		msg := fmt.Sprintf("rollout %s: %d/%d tasks running", strings.ToLower(r.RolloutState), primary.RunningCount, primary.DesiredCount)
		if r.ServiceDeploymentStatus != "" {
			msg += fmt.Sprintf("; service deployment %s, lifecycle stage %s", r.ServiceDeploymentStatus, r.LifecycleStage)
		}
		return progress(msg, r)
	}
}

// serviceDeployment judges by the service deployment's status (service
// deployment states: "View service history using Amazon ECS service
// deployments", service-deployment.html). decided is a final verdict;
// otherwise completed, when not nil, replaces the deployments array's
// rolloutState for the rules that follow (alarms, failed tasks, bake,
// timeout).
func serviceDeployment(in Input, sd *ecstypes.ServiceDeployment, r Result) (res Result, decided bool, completed *bool) {
	yes, no := true, false
	switch sd.Status {
	case ecstypes.ServiceDeploymentStatusRollbackSuccessful:
		if in.Undo {
			r.Status, r.Cause, r.Reason = Completed, CauseCompleted, "ECS rolled back to "+r.TaskDefinition+": "+ecsReason(sd)
			return r, true, nil
		}
		return fail(ecsCause(sd), "ECS rolled back to "+r.TaskDefinition+": "+ecsReason(sd), r), true, nil
	case ecstypes.ServiceDeploymentStatusRollbackRequested, ecstypes.ServiceDeploymentStatusRollbackInProgress:
		if in.Undo {
			return r, false, &no
		}
		return fail(ecsCause(sd), "ECS is rolling back to the previous revision: "+ecsReason(sd), r), true, nil
	case ecstypes.ServiceDeploymentStatusRollbackFailed:
		return fail(CauseRolloutFailed, "ECS's rollback failed: "+ecsReason(sd), r), true, nil
	case ecstypes.ServiceDeploymentStatusStopped:
		// Stopped by ECS's own monitors (circuit breaker, alarms) with no
		// rollback: the deploy failed. Otherwise stopped is not a verdict
		// by itself: a newer service deployment started (someone's update:
		// the revision tells whose once the service shows it, and the two
		// reads may straddle it) or a user stopped it; the deployments
		// array decides below.
		if triggered(sd) {
			return fail(ecsCause(sd), "ECS stopped the deployment: "+ecsReason(sd), r), true, nil
		}
		return r, false, nil
	case ecstypes.ServiceDeploymentStatusSuccessful:
		return r, false, &yes
	}
	return r, false, &no
}

// triggered reports whether ECS's circuit breaker or deployment alarms
// tripped the service deployment.
func triggered(sd *ecstypes.ServiceDeployment) bool {
	return sd.DeploymentCircuitBreaker != nil && sd.DeploymentCircuitBreaker.Status == ecstypes.ServiceDeploymentRollbackMonitorsStatusTriggered ||
		sd.Alarms != nil && sd.Alarms.Status == ecstypes.ServiceDeploymentRollbackMonitorsStatusTriggered
}

// ecsCause is what tripped ECS: its circuit breaker, its alarms, or a stop.
func ecsCause(sd *ecstypes.ServiceDeployment) Cause {
	switch {
	case sd.DeploymentCircuitBreaker != nil && sd.DeploymentCircuitBreaker.Status == ecstypes.ServiceDeploymentRollbackMonitorsStatusTriggered:
		return CauseCircuitBreaker
	case sd.Alarms != nil && sd.Alarms.Status == ecstypes.ServiceDeploymentRollbackMonitorsStatusTriggered:
		return CauseECSRollback
	case sd.Status == ecstypes.ServiceDeploymentStatusStopped:
		return CauseRolloutFailed
	}
	return CauseECSRollback
}

// ecsReason is ECS's own account, from the service deployment's details.
func ecsReason(sd *ecstypes.ServiceDeployment) string {
	reason := aws.ToString(sd.StatusReason)
	if sd.Rollback != nil && aws.ToString(sd.Rollback.Reason) != "" {
		reason = aws.ToString(sd.Rollback.Reason)
	}
	if reason == "" {
		reason = "service deployment " + strings.ToLower(string(sd.Status))
	}
	if cb := sd.DeploymentCircuitBreaker; cb != nil && cb.Status == ecstypes.ServiceDeploymentRollbackMonitorsStatusTriggered {
		reason += fmt.Sprintf(" (circuit breaker: %d failed tasks, threshold %d)", cb.FailureCount, cb.Threshold)
	}
	if a := sd.Alarms; a != nil && a.Status == ecstypes.ServiceDeploymentRollbackMonitorsStatusTriggered && len(a.TriggeredAlarmNames) > 0 {
		reason += " (alarms in ALARM: " + strings.Join(a.TriggeredAlarmNames, ", ") + ")"
	}
	return reason
}

// deployments returns the PRIMARY deployment and the one the deploy
// started (by ID, else by task definition).
func deployments(in Input) (primary, ours *ecstypes.Deployment) {
	for i := range in.Service.Deployments {
		d := &in.Service.Deployments[i]
		if aws.ToString(d.Status) == "PRIMARY" && primary == nil {
			primary = d
		}
		if in.DeploymentID != "" {
			if aws.ToString(d.Id) == in.DeploymentID {
				ours = d
			}
		} else if ours == nil && aws.ToString(d.TaskDefinition) == in.Expected {
			ours = d
		}
	}
	return primary, ours
}

// rolloutCompleted: the deployment says COMPLETED; services without a
// rollout state (external controllers) count as complete once the primary
// is the only deployment and runs its desired count.
func rolloutCompleted(primary *ecstypes.Deployment, svc ecstypes.Service) bool {
	switch primary.RolloutState {
	case ecstypes.DeploymentRolloutStateCompleted:
		return true
	case "":
		return len(svc.Deployments) == 1 && primary.RunningCount == primary.DesiredCount
	}
	return false
}

// failureEvent returns the service event message saying that deployment
// id failed, or "".
func failureEvent(svc ecstypes.Service, id string) string {
	if id == "" {
		return ""
	}
	needle := "(deployment " + id + ") deployment failed"
	for _, e := range svc.Events {
		if m := aws.ToString(e.Message); strings.Contains(m, needle) {
			return m
		}
	}
	return ""
}

// eventCause reads the cause from a "deployment failed: ..." event.
func eventCause(msg string) Cause {
	m := strings.ToLower(msg)
	switch {
	case strings.Contains(m, "tasks failed to start"), strings.Contains(m, "health check"), strings.Contains(m, "circuit breaker"):
		return CauseCircuitBreaker
	}
	return CauseECSRollback
}

func failedCause(d *ecstypes.Deployment) Cause {
	reason := strings.ToLower(aws.ToString(d.RolloutStateReason))
	switch {
	case strings.Contains(reason, "circuit breaker"):
		return CauseCircuitBreaker
	case strings.Contains(reason, "alarm"):
		return CauseECSRollback
	}
	return CauseRolloutFailed
}

func fail(c Cause, reason string, r Result) Result {
	r.Status, r.Cause, r.Reason = Failed, c, reason
	return r
}

func progress(reason string, r Result) Result {
	r.Status, r.Cause, r.Reason = InProgress, CauseInProgress, reason
	return r
}
