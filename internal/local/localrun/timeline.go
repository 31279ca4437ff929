package localrun

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"regexp"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sfn"
	sfntypes "github.com/aws/aws-sdk-go-v2/service/sfn/types"
)

// PrintTimeline writes what an execution did, in an operator's words, with
// the virtual time since its start: planned, registered, updated, woken
// (a wait's outcome sent), baked, judged (a check's verdict), rolled back,
// recorded, and how it ended. The state machine's own state names (Route,
// RolloutDecision...) are its plumbing and are left out.
func (w *World) PrintTimeline(ctx context.Context, out io.Writer, executionARN string) error {
	client := sfn.NewFromConfig(w.Config)
	var events []sfntypes.HistoryEvent
	p := sfn.NewGetExecutionHistoryPaginator(client, &sfn.GetExecutionHistoryInput{ExecutionArn: aws.String(executionARN)})
	for p.HasMorePages() {
		page, err := p.NextPage(ctx)
		if err != nil {
			return fmt.Errorf("execution history: %w", err)
		}
		events = append(events, page.Events...)
	}
	if len(events) == 0 {
		return nil
	}
	start := aws.ToTime(events[0].Timestamp)
	var tl operatorTimeline
	for _, e := range events {
		line := tl.line(e)
		if line == "" {
			continue
		}
		at := aws.ToTime(e.Timestamp).Sub(start).Round(time.Second)
		fmt.Fprintf(out, "  %8s  %s\n", fmtDuration(at), line)
	}
	return nil
}

// operatorTimeline turns history events into operator lines, keeping the
// state each event belongs to.
type operatorTimeline struct {
	state   string
	timeout time.Duration // the current task's wait
	undoing bool          // an Undo step ran: the execution rolls back
}

// waitPhase names what a waiting state waits for.
var waitPhase = map[string]string{"WaitRollout": "rollout", "Bake": "bake", "WaitUndo": "rollback"}

func (t *operatorTimeline) line(e sfntypes.HistoryEvent) string {
	switch {
	case e.StateEnteredEventDetails != nil:
		t.state, t.timeout = aws.ToString(e.StateEnteredEventDetails.Name), 0
		if t.state == "Undo" {
			t.undoing = true
		}
	case e.TaskScheduledEventDetails != nil:
		t.timeout = time.Duration(aws.ToInt64(e.TaskScheduledEventDetails.TimeoutInSeconds)) * time.Second
	case e.TaskSucceededEventDetails != nil:
		return t.succeeded(aws.ToString(e.TaskSucceededEventDetails.Output))
	case e.TaskTimedOutEventDetails != nil:
		if t.state == "Bake" {
			return fmt.Sprintf("baked %s: no alarm woke the wait", t.timeout)
		}
		return fmt.Sprintf("%s wait timed out after %s", phaseOf(t.state), t.timeout)
	case e.TaskFailedEventDetails != nil:
		d := e.TaskFailedEventDetails
		return "failed: " + errorText(aws.ToString(d.Error), aws.ToString(d.Cause))
	case e.ExecutionSucceededEventDetails != nil:
		return "✔ done"
	case e.ExecutionFailedEventDetails != nil:
		d := e.ExecutionFailedEventDetails
		if aws.ToString(d.Error) == "RolledBack" {
			return "✘ rolled back"
		}
		return "✘ failed: " + errorText(aws.ToString(d.Error), aws.ToString(d.Cause))
	case e.ExecutionAbortedEventDetails != nil:
		return "✘ aborted"
	case e.ExecutionTimedOutEventDetails != nil:
		return "✘ timed out"
	}
	return ""
}

// phaseOf names the phase a state waits for or checks (CheckBake: bake).
func phaseOf(state string) string {
	if p, ok := waitPhase[state]; ok {
		return p
	}
	return strings.ToLower(strings.TrimPrefix(state, "Check"))
}

// actionWords are a plan's actions as an operator says them.
var actionWords = map[string]string{"rollback": "roll back"}

// taskDefinitionARN is the part of a task definition ARN before family:N.
var taskDefinitionARN = regexp.MustCompile(`arn:aws[a-z-]*:ecs:[a-z0-9-]*:[0-9]*:task-definition/`)

// short writes task definition ARNs in a reason as family:N.
func short(reason string) string { return taskDefinitionARN.ReplaceAllString(reason, "") }

// succeeded describes a task's result by the step that made it.
func (t *operatorTimeline) succeeded(output string) string {
	var r struct {
		Payload map[string]any `json:"Payload"`
	}
	if json.Unmarshal([]byte(output), &r) != nil || r.Payload == nil {
		return ""
	}
	p := r.Payload
	s := func(k string) string { v, _ := p[k].(string); return v }
	_, isWait := waitPhase[t.state]
	switch {
	case t.state == "Plan":
		if s("action") == "skip" {
			return "skipped: " + short(s("reason"))
		}
		action := s("action")
		if w, ok := actionWords[action]; ok {
			action = w
		}
		d := "planned: " + action
		if img, ok := p["image"].(map[string]any); ok {
			repo, _ := img["repository"].(string)
			tag, _ := img["tag"].(string)
			digest, _ := img["digest"].(string)
			d += " " + repo[strings.LastIndex(repo, "/")+1:]
			if tag != "" {
				d += ":" + tag
			}
			if digest = strings.TrimPrefix(digest, "sha256:"); digest != "" {
				d += "@" + digest[:min(12, len(digest))]
			}
		}
		if to := s("targetTaskDefinitionArn"); to != "" {
			d += " to " + shortRevision(to)
		}
		if s("action") == "deploy" && s("undoTaskDefinitionArn") != "" {
			d += ", back to " + shortRevision(s("undoTaskDefinitionArn")) + " if it fails"
		}
		return d
	case p["registered"] == true:
		return "registered " + shortRevision(s("taskDefinitionArn"))
	case p["previousTaskDefinitionArn"] != nil:
		verb := "updated the service"
		if t.state == "Undo" {
			verb = "rolling back: updated the service"
		}
		if p["unchanged"] == true {
			if t.state == "Undo" {
				return "rolling back: the service already runs " + shortRevision(s("taskDefinitionArn"))
			}
			return "the service already runs " + shortRevision(s("taskDefinitionArn"))
		}
		return fmt.Sprintf("%s %s → %s", verb, shortRevision(s("previousTaskDefinitionArn")), shortRevision(s("taskDefinitionArn")))
	case s("status") != "" && s("cause") != "":
		verb := "judged"
		if isWait {
			verb = "woken"
		}
		d := fmt.Sprintf("%s: %s %s (%s)", verb, phaseOf(t.state), s("status"), s("cause"))
		if a := s("alarm"); a != "" && !strings.Contains(s("reason"), a) {
			d += " alarm " + a
		}
		if r := s("reason"); r != "" {
			d += ": " + short(r)
		}
		return d
	case p["leaseReleased"] != nil:
		return "recorded " + s("status")
	}
	return ""
}

// errorText is an error name and its cause, the cause's Lambda wrapping
// ({"errorMessage": ...}) removed.
func errorText(name, cause string) string {
	var le struct {
		Message string `json:"errorMessage"`
	}
	if json.Unmarshal([]byte(cause), &le) == nil && le.Message != "" {
		cause = le.Message
	}
	if cause == "" {
		return name
	}
	return name + ": " + short(cause)
}

func fmtDuration(d time.Duration) string {
	m := int(d.Minutes())
	s := int(d.Seconds()) % 60
	return fmt.Sprintf("+%02d:%02d", m, s)
}
