// Package tracing adds AWS X-Ray tracing to the AWS SDK clients. It is the
// only package that imports the X-Ray SDK (in maintenance, end of support
// 2027-02-25), so moving to OpenTelemetry changes this one file.
package tracing

import (
	"context"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-xray-sdk-go/v2/instrumentation/awsv2"
	"github.com/aws/aws-xray-sdk-go/v2/strategy/ctxmissing"
	"github.com/aws/aws-xray-sdk-go/v2/xray"
	"github.com/aws/smithy-go/middleware"
)

// Instrument makes every client built from cfg record a subsegment per AWS
// call when the context carries an X-Ray segment (in Lambda with Tracing:
// Active, the runtime puts the trace header in the context).
//
// Without a segment (local runs, tests, the CLI) the X-Ray SDK would call its
// context-missing strategy, whose default logs an error on every call (or
// panics with AWS_XRAY_CONTEXT_MISSING=RUNTIME_ERROR). A middleware placed
// before X-Ray's puts a recorder with the ignore strategy into such contexts
// only, so the call proceeds untraced and silently; contexts that carry a
// recorder of their own are left alone.
func Instrument(cfg *aws.Config) {
	cfg.APIOptions = append(cfg.APIOptions, quietWithoutSegment)
	awsv2.AWSV2Instrumentor(&cfg.APIOptions)
}

var ignoreMissing = ctxmissing.NewDefaultIgnoreErrorStrategy()

func quietWithoutSegment(stack *middleware.Stack) error {
	return stack.Initialize.Add(middleware.InitializeMiddlewareFunc("PushdeployXRayContextMissing", func(
		ctx context.Context, in middleware.InitializeInput, next middleware.InitializeHandler) (
		middleware.InitializeOutput, middleware.Metadata, error) {
		if xray.GetRecorder(ctx) == nil && !hasTrace(ctx) {
			ctx = context.WithValue(ctx, xray.RecorderContextKey{}, &xray.Config{ContextMissingStrategy: ignoreMissing})
		}
		return next.HandleInitialize(ctx, in)
	}), middleware.Before)
}

// hasTrace reports whether X-Ray can trace calls made with ctx: it holds a
// segment, or the Lambda trace header from which X-Ray makes a facade segment.
func hasTrace(ctx context.Context) bool {
	if xray.GetSegment(ctx) != nil {
		return true
	}
	_, ok := ctx.Value(xray.LambdaTraceHeaderKey).(string)
	return ok
}
