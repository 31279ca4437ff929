package handler

import (
	"context"
	"fmt"
	"log/slog"
	"slices"
	"strings"

	"github.com/aws/aws-sdk-go-v2/aws"

	"github.com/pushdeploy/pushdeploy/internal/awsapi"
	"github.com/pushdeploy/pushdeploy/internal/outcome"
)

// describeAlarms reads the named alarms of both kinds (metric and
// composite), in batches of DescribeAlarms' limit on names and following
// its pages. Alarms that do not exist are simply absent.
func describeAlarms(ctx context.Context, cw awsapi.CloudWatch, names []string) ([]outcome.Alarm, error) {
	var out []outcome.Alarm
	for batch := range slices.Chunk(names, outcome.MaxAlarmNames) {
		in := outcome.DescribeAlarmsInput(batch)
		for {
			page, err := cw.DescribeAlarms(ctx, in)
			if err != nil {
				return nil, err
			}
			out = append(out, outcome.AlarmsFrom(page)...)
			if aws.ToString(page.NextToken) == "" {
				break
			}
			in.NextToken = page.NextToken
		}
	}
	return out, nil
}

// missingAlarmWarnings checks that the alarms a service names exist and
// returns a warning for each that does not. A missing alarm does not fail
// the deploy (the tag may name an alarm that is being created, and the
// rollout still has ECS's own checks), but a deploy must not lose its
// safety net without a word. A check that cannot run is a warning too.
func missingAlarmWarnings(ctx context.Context, cw awsapi.CloudWatch, log *slog.Logger, names []string) []string {
	if len(names) == 0 {
		return nil
	}
	found, err := describeAlarms(ctx, cw, names)
	if err != nil {
		log.WarnContext(ctx, "check alarms", "error", err)
		return []string{fmt.Sprintf("could not check that the alarms %s exist: %v", strings.Join(names, ", "), err)}
	}
	var warnings []string
	for _, n := range names {
		if !slices.ContainsFunc(found, func(a outcome.Alarm) bool { return a.Name == n }) {
			warnings = append(warnings, fmt.Sprintf("alarm %s (pushdeploy:alarms) does not exist: it cannot roll this deploy back", n))
		}
	}
	if len(warnings) > 0 {
		log.WarnContext(ctx, "missing alarms", "warnings", warnings)
	}
	return warnings
}
