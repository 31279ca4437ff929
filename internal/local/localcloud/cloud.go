package localcloud

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"sync"
	"time"

	"github.com/pushdeploy/pushdeploy/internal/app/clock"
	"github.com/pushdeploy/pushdeploy/internal/local/localcloud/awsproto"
	"github.com/pushdeploy/pushdeploy/internal/local/localcloud/cloudwatch"
	"github.com/pushdeploy/pushdeploy/internal/local/localcloud/dynamodb"
	"github.com/pushdeploy/pushdeploy/internal/local/localcloud/ecr"
	"github.com/pushdeploy/pushdeploy/internal/local/localcloud/ecs"
	"github.com/pushdeploy/pushdeploy/internal/local/localcloud/eventbridge"
	"github.com/pushdeploy/pushdeploy/internal/local/localcloud/lambda"
	"github.com/pushdeploy/pushdeploy/internal/local/localcloud/sfn"
	"github.com/pushdeploy/pushdeploy/internal/local/localcloud/tagging"
)

// Options configures a Cloud.
type Options struct {
	Clock clock.Clock // default clock.Real{}
	// Log receives a readable line per API call; nil keeps only the counts.
	Log     io.Writer
	Account string // default 123456789012
	Region  string // default us-east-1
	// Lambda configures the Lambda service; Clock, Account and Region are
	// filled from the fields above.
	Lambda lambda.Options
	// Realism, when set, enforces AWS's request throttling
	// (DocumentedRealism); nil, the default, throttles only by faults.
	Realism *Realism
}

// Cloud is the whole local cloud: one Server with every service wired to
// the others. ECS reads deployment alarms from CloudWatch; ECS, ECR and
// CloudWatch publish to EventBridge's default bus; EventBridge invokes
// Lambda functions and starts Step Functions executions; Step Functions
// tasks call services back through the Server (logged, faults applied);
// the tagging API reads ECS and CloudWatch resources.
type Cloud struct {
	Server *Server

	ecs        *ecs.Service
	ecr        *ecr.Service
	cloudwatch *cloudwatch.Service
	events     *eventbridge.Service
	lambda     *lambda.Service
	tagging    *tagging.Service
	dynamodb   *dynamodb.Service
	sfn        *sfn.Service
	clock      clock.Clock
	control    *control

	mu   sync.Mutex
	http *http.Server
}

// New builds a local cloud. It serves nothing until Listen, or use
// c.Server as an http.Handler (httptest.NewServer(c.Server)).
func New(opts Options) (*Cloud, error) {
	opts.Clock, opts.Account, opts.Region = awsproto.WithDefaults(opts.Clock, opts.Account, opts.Region)
	c := &Cloud{Server: NewServer(opts.Clock, opts.Account, opts.Region, NewCallLog(opts.Log)), clock: opts.Clock}
	c.control = &control{c: c}
	c.Server.Control = c.control
	c.Server.SetRealism(opts.Realism)

	c.events = eventbridge.New(opts.Clock, opts.Account, opts.Region, nil, nil)
	c.events.SetLog(opts.Log) // a line per delivery to a target, next to the calls
	c.dynamodb = dynamodb.New(opts.Clock, opts.Account)
	var err error
	if c.cloudwatch, err = cloudwatch.New(opts.Clock, opts.Account, c.events); err != nil {
		return nil, fmt.Errorf("local cloud: %w", err)
	}
	if c.ecs, err = ecs.New(ecs.Options{Clock: opts.Clock, Account: opts.Account, Region: opts.Region,
		Bus: c.events, Alarms: c.cloudwatch}); err != nil {
		return nil, fmt.Errorf("local cloud: %w", err)
	}
	if c.ecr, err = ecr.New(opts.Clock, opts.Account, c.events); err != nil {
		return nil, fmt.Errorf("local cloud: %w", err)
	}
	c.cloudwatch.SetDefaultRegion(opts.Region)
	c.ecr.SetDefaultRegion(opts.Region)
	if c.tagging, err = tagging.New(c.ecs, c.cloudwatch); err != nil {
		return nil, fmt.Errorf("local cloud: %w", err)
	}
	lo := opts.Lambda
	lo.Clock, lo.Account, lo.Region = opts.Clock, opts.Account, opts.Region
	if c.lambda, err = lambda.New(lo); err != nil {
		return nil, fmt.Errorf("local cloud: %w", err)
	}
	c.events.SetInvoker(c.lambda)
	c.Server.Lend = c.lambda.Lend // a function's calls lend its hold on the clock
	c.Server.Caller = c.lambda.Caller
	// Step Functions' tasks call the other services through the server, so
	// their calls are logged and faults apply.
	if c.sfn, err = sfn.New(sfn.Options{Clock: opts.Clock, Account: opts.Account, Region: opts.Region, Cloud: c.Server}); err != nil {
		return nil, fmt.Errorf("local cloud: %w", err)
	}
	c.events.SetExecutionStarter(c.sfn)

	c.Server.AddRPC(c.ecs)
	c.Server.AddRPC(c.ecr)
	c.Server.AddRPC(c.cloudwatch)
	c.Server.AddRPC(c.tagging)
	c.Server.AddRPC(c.events)
	c.Server.AddRPC(c.dynamodb)
	c.Server.AddREST(c.lambda)
	c.Server.AddRPC(c.sfn)
	return c, nil
}

// Listen serves the cloud on addr ("127.0.0.1:0" for any free port) and
// returns its URL, the endpoint for the SDKs and the AWS CLI.
func (c *Cloud) Listen(addr string) (string, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.http != nil {
		return "", errors.New("local cloud: already listening")
	}
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return "", fmt.Errorf("local cloud: listen: %w", err)
	}
	url := "http://" + ln.Addr().String()
	c.lambda.SetEndpoint(url)
	c.http = &http.Server{Handler: c.Server, ReadHeaderTimeout: 10 * time.Second}
	go c.http.Serve(ln)
	return url, nil
}

// Close stops serving and stops the function processes.
func (c *Cloud) Close() error {
	c.mu.Lock()
	srv := c.http
	c.http = nil
	c.mu.Unlock()
	var errs []error
	if srv != nil {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		if err := srv.Shutdown(ctx); err != nil {
			errs = append(errs, fmt.Errorf("local cloud: shutdown: %w", err))
		}
	}
	c.ecs.Close()
	c.sfn.Close()
	if err := c.lambda.Close(); err != nil {
		errs = append(errs, fmt.Errorf("local cloud: lambda: %w", err))
	}
	return errors.Join(errs...)
}

// SetInfo sets what GET /_localcloud/info answers: what a client needs to
// know of the installed application (its state machine, its table).
func (c *Cloud) SetInfo(info map[string]string) {
	c.control.mu.Lock()
	defer c.control.mu.Unlock()
	c.control.info = info
}

// Log is the call log of every service.
func (c *Cloud) Log() *CallLog { return c.Server.Log }

// Faults are the API-level faults (throttling, latency) of every service.
func (c *Cloud) Faults() *Faults { return c.Server.Faults }

// ECS is the ECS service, for its faults and state.
func (c *Cloud) ECS() *ecs.Service { return c.ecs }

// ECR is the ECR service.
func (c *Cloud) ECR() *ecr.Service { return c.ecr }

// CloudWatch is the CloudWatch service, for alarm scenarios.
func (c *Cloud) CloudWatch() *cloudwatch.Service { return c.cloudwatch }

// EventBridge is the EventBridge service, the default bus of every event.
func (c *Cloud) EventBridge() *eventbridge.Service { return c.events }

// Tagging is the Resource Groups Tagging service (GetResources over ECS and
// CloudWatch).
func (c *Cloud) Tagging() *tagging.Service { return c.tagging }

// DynamoDB is the DynamoDB service.
func (c *Cloud) DynamoDB() *dynamodb.Service { return c.dynamodb }

// Lambda is the Lambda service.
func (c *Cloud) Lambda() *lambda.Service { return c.lambda }

// StepFunctions is the Step Functions service and its engine.
func (c *Cloud) StepFunctions() *sfn.Service { return c.sfn }
