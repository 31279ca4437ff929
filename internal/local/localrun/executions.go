package localrun

import (
	"context"
	"encoding/json"
	"fmt"
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
