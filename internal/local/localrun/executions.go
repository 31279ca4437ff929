package localrun

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/sfn"
	sfntypes "github.com/aws/aws-sdk-go-v2/service/sfn/types"
)

// Executions lists every execution of the deploy state machine, oldest first.
func (w *World) Executions(ctx context.Context) ([]sfntypes.ExecutionListItem, error) {
	client := sfn.NewFromConfig(w.Config)
	var all []sfntypes.ExecutionListItem
	p := sfn.NewListExecutionsPaginator(client, &sfn.ListExecutionsInput{StateMachineArn: aws.String(w.StateMachineARN)})
	for p.HasMorePages() {
		page, err := p.NextPage(ctx)
		if err != nil {
			return nil, fmt.Errorf("list executions: %w", err)
		}
		all = append(all, page.Executions...)
	}
	// ListExecutions is newest first; a timeline reads better oldest first.
	for i, j := 0, len(all)-1; i < j; i, j = i+1, j-1 {
		all[i], all[j] = all[j], all[i]
	}
	return all, nil
}

// WaitIdle waits until at least n executions exist and none is running. It
// polls in real time: on a virtual clock the executions' minutes pass
// between two polls.
func (w *World) WaitIdle(ctx context.Context, n int) ([]sfntypes.ExecutionListItem, error) {
	for {
		execs, err := w.Executions(ctx)
		if err != nil {
			return nil, err
		}
		running := 0
		for _, e := range execs {
			if e.Status == sfntypes.ExecutionStatusRunning {
				running++
			}
		}
		if len(execs) >= n && running == 0 {
			return execs, nil
		}
		select {
		case <-ctx.Done():
			return execs, fmt.Errorf("waiting for %d finished executions (have %d, %d running): %w", n, len(execs), running, ctx.Err())
		case <-time.After(5 * time.Millisecond):
		}
	}
}

// Output is the decoded output of a finished execution.
func (w *World) Output(ctx context.Context, executionARN string) (map[string]any, *sfn.DescribeExecutionOutput, error) {
	out, err := sfn.NewFromConfig(w.Config).DescribeExecution(ctx, &sfn.DescribeExecutionInput{ExecutionArn: aws.String(executionARN)})
	if err != nil {
		return nil, nil, fmt.Errorf("describe execution: %w", err)
	}
	var v map[string]any
	if out.Output != nil {
		if err := json.Unmarshal([]byte(*out.Output), &v); err != nil {
			return nil, out, fmt.Errorf("execution output: %w", err)
		}
	}
	return v, out, nil
}

// PrintTimeline writes a readable timeline of an execution: each state
// entered, with the virtual time since the start, and the outcome.
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
	for _, e := range events {
		at := aws.ToTime(e.Timestamp).Sub(start).Round(time.Second)
		line := ""
		switch {
		case e.StateEnteredEventDetails != nil:
			line = "→ " + aws.ToString(e.StateEnteredEventDetails.Name)
		case e.TaskTimedOutEventDetails != nil:
			line = "  timed out: " + aws.ToString(e.TaskTimedOutEventDetails.Error)
		case e.TaskFailedEventDetails != nil:
			line = "  failed: " + aws.ToString(e.TaskFailedEventDetails.Error)
		case e.ExecutionSucceededEventDetails != nil:
			line = "✔ execution succeeded"
		case e.ExecutionFailedEventDetails != nil:
			line = "✘ execution failed: " + aws.ToString(e.ExecutionFailedEventDetails.Error) + " " + aws.ToString(e.ExecutionFailedEventDetails.Cause)
		case e.ExecutionAbortedEventDetails != nil:
			line = "✘ execution aborted"
		default:
			continue
		}
		fmt.Fprintf(out, "  %8s  %s\n", fmtDuration(at), strings.TrimSpace(line))
	}
	return nil
}

func fmtDuration(d time.Duration) string {
	m := int(d.Minutes())
	s := int(d.Seconds()) % 60
	return fmt.Sprintf("+%02d:%02d", m, s)
}
