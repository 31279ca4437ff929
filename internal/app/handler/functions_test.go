package handler

import (
	"fmt"
	"log/slog"

	"github.com/aws/aws-lambda-go/lambda"

	"github.com/pushdeploy/pushdeploy/internal/app/clock"
)

// newFunction builds functions/<name> from c as its main does from its own
// clients (the tests' registry; the local world has its own in
// internal/local/localrun, out of the bootstraps' reach).
func newFunction(name string, c Clients, env func(string) string, clk clock.Clock, log *slog.Logger) (lambda.Handler, error) {
	s, err := SettingsFromEnv(env)
	if err != nil {
		return nil, fmt.Errorf("function %s: %w", name, err)
	}
	w := Wiring{Settings: s, Clock: clk, Log: log}
	switch name {
	case "dispatch":
		return DispatchFunction(w, c.ECS, c.CloudWatch, c.Tagging, c.DynamoDB, c.SFN, c.ECR)
	case "plan":
		return PlanFunction(w, c.ECS, c.CloudWatch, c.Tagging, c.DynamoDB, c.SFN, c.ECR)
	case "register":
		return RegisterFunction(w, c.ECS, c.DynamoDB)
	case "update":
		return UpdateFunction(w, c.ECS, c.CloudWatch, c.DynamoDB, c.SFN)
	case "watch":
		return WatchFunction(w, c.ECS, c.CloudWatch, c.DynamoDB, c.SFN, c.EventBridge)
	case "check":
		return CheckFunction(w, c.ECS, c.CloudWatch, c.DynamoDB)
	case "events":
		return EventsFunction(w, c.ECS, c.CloudWatch, c.DynamoDB, c.SFN)
	case "finish":
		return FinishFunction(w, c.ECS, c.Tagging, c.DynamoDB, c.SFN, c.EventBridge)
	}
	return nil, fmt.Errorf("unknown function %q", name)
}
