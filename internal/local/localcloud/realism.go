package localcloud

import (
	"fmt"
	"slices"
	"sync"
	"time"

	"github.com/pushdeploy/pushdeploy/internal/app/clock"
	"github.com/pushdeploy/pushdeploy/internal/local/localcloud/awsproto"
)

// Realism is the opt-in realism mode: AWS's documented request throttling,
// token buckets per account and Region that refill on the cloud's clock.
// Off (nil) by default, so that tests that do not ask for it see no
// throttling but the faults they inject.
type Realism struct {
	Limits []Limit
	// Observers are access key IDs whose calls take no token and are never
	// throttled: a test harness polling for the end, or seeding a world,
	// is not the load under test.
	Observers []string
}

// Limit is one token bucket of one service: the operations that share it.
type Limit struct {
	Service  string // the server's short name: "ecs", "sfn", "tagging"
	Category string // AWS's name for the bucket ("Service modify actions")
	// Operations share the bucket; empty is every operation of the service.
	Operations []string
	// Large, when set, is the bucket in the Regions AWS lists apart
	// (Step Functions: us-east-1, us-west-2, eu-west-1); Bucket elsewhere.
	Bucket, Large *Bucket
}

// Bucket is a token bucket: Burst tokens at most, refilled at Rate tokens
// per second. A call takes one token; a call that finds none is throttled
// and takes nothing.
type Bucket struct {
	Burst float64
	Rate  float64
}

// largeRegions are the Regions with Step Functions' larger quotas.
var largeRegions = []string{"us-east-1", "us-west-2", "eu-west-1"}

func b(burst, rate float64) *Bucket { return &Bucket{Burst: burst, Rate: rate} }

// DocumentedRealism is AWS's published throttling for the APIs pushdeploy
// calls, with their sources:
//
//   - ECS: "Request throttling for the Amazon ECS API"
//     (https://docs.aws.amazon.com/AmazonECS/latest/APIReference/request-throttling.html),
//     one bucket per API action category, per account and Region, in every
//     Region; ThrottlingException, HTTP 400.
//   - Step Functions: "Step Functions service quotas", quotas related to API
//     action throttling (https://docs.aws.amazon.com/step-functions/latest/dg/service-quotas.html),
//     per API action; StartExecution is 1,300/300 in us-east-1, us-west-2
//     and eu-west-1 and 800/150 elsewhere; ThrottlingException, HTTP 400.
//   - Resource Groups Tagging API: no bucket is documented, so none is
//     enforced; its throttling answer (ThrottledException, HTTP 400, from
//     the GetResources API reference) applies to a bucket a test adds.
func DocumentedRealism() *Realism {
	return &Realism{Limits: []Limit{
		{Service: "ecs", Category: "Cluster modify actions", Operations: []string{"CreateCluster", "DeleteCluster", "PutClusterCapacityProviders", "UpdateCluster", "UpdateClusterSettings"}, Bucket: b(20, 1)},
		{Service: "ecs", Category: "Cluster read actions", Operations: []string{"DescribeClusters", "ListClusters"}, Bucket: b(50, 20)},
		{Service: "ecs", Category: "Task definition modify actions", Operations: []string{"DeregisterTaskDefinition", "RegisterTaskDefinition"}, Bucket: b(20, 1)},
		{Service: "ecs", Category: "Task definition read actions", Operations: []string{"DescribeTaskDefinition", "ListTaskDefinitions", "ListTaskDefinitionFamilies"}, Bucket: b(50, 20)},
		{Service: "ecs", Category: "Task definition deletion actions", Operations: []string{"DeleteTaskDefinitions"}, Bucket: b(5, 1)},
		{Service: "ecs", Category: "Capacity provider modify actions", Operations: []string{"CreateCapacityProvider", "DeleteCapacityProvider", "UpdateCapacityProvider"}, Bucket: b(10, 1)},
		{Service: "ecs", Category: "Capacity provider read actions", Operations: []string{"DescribeCapacityProviders"}, Bucket: b(50, 20)},
		{Service: "ecs", Category: "Tag modify actions", Operations: []string{"TagResource", "UntagResource"}, Bucket: b(20, 10)},
		{Service: "ecs", Category: "Tag read actions", Operations: []string{"ListTagsForResource"}, Bucket: b(50, 20)},
		{Service: "ecs", Category: "Setting modify actions", Operations: []string{"DeleteAccountSetting", "PutAccountSetting", "PutAccountSettingDefault"}, Bucket: b(10, 1)},
		{Service: "ecs", Category: "Setting read actions", Operations: []string{"ListAccountSettings"}, Bucket: b(50, 20)},
		{Service: "ecs", Category: "Cluster resource modify actions", Operations: []string{"DeleteAttributes", "DeregisterContainerInstance", "ExecuteCommand", "PutAttributes", "RunTask", "StartTask", "StopTask", "UpdateContainerAgent", "UpdateContainerInstancesState"}, Bucket: b(100, 40)},
		{Service: "ecs", Category: "Cluster resource read actions", Operations: []string{"DescribeContainerInstances", "DescribeTasks", "ListAttributes", "ListContainerInstances", "ListTasks"}, Bucket: b(100, 20)},
		{Service: "ecs", Category: "Agent modify actions", Operations: []string{"RegisterContainerInstance", "SubmitAttachmentStateChanges", "SubmitContainerStateChange", "SubmitTaskStateChange"}, Bucket: b(200, 120)},
		{Service: "ecs", Category: "Service modify actions", Operations: []string{"CreateService", "DeleteService", "UpdateService"}, Bucket: b(50, 5)},
		{Service: "ecs", Category: "Service read actions", Operations: []string{"DescribeServices", "ListServices"}, Bucket: b(100, 20)},
		{Service: "ecs", Category: "Service deployment actions", Operations: []string{"DescribeServiceDeployments", "ListServiceDeployments"}, Bucket: b(50, 20)},
		{Service: "ecs", Category: "Service revision actions", Operations: []string{"DescribeServiceRevisions"}, Bucket: b(50, 20)},
		{Service: "ecs", Category: "Task protection actions", Operations: []string{"UpdateTaskProtection", "GetTaskProtection"}, Bucket: b(200, 80)},
		{Service: "ecs", Category: "Cluster service resource read actions", Operations: []string{"ListServicesByNamespace"}, Bucket: b(10, 1)},

		{Service: "sfn", Category: "StartExecution", Operations: []string{"StartExecution"}, Large: b(1300, 300), Bucket: b(800, 150)},
		{Service: "sfn", Category: "DescribeExecution", Operations: []string{"DescribeExecution"}, Large: b(300, 15), Bucket: b(250, 10)},
		{Service: "sfn", Category: "DescribeStateMachine", Operations: []string{"DescribeStateMachine"}, Large: b(200, 20), Bucket: b(200, 20)},
		{Service: "sfn", Category: "GetExecutionHistory", Operations: []string{"GetExecutionHistory"}, Large: b(400, 20), Bucket: b(400, 20)},
		{Service: "sfn", Category: "ListExecutions", Operations: []string{"ListExecutions"}, Large: b(200, 5), Bucket: b(100, 2)},
		{Service: "sfn", Category: "SendTaskSuccess", Operations: []string{"SendTaskSuccess"}, Large: b(3000, 500), Bucket: b(1500, 300)},
		{Service: "sfn", Category: "SendTaskFailure", Operations: []string{"SendTaskFailure"}, Large: b(3000, 500), Bucket: b(1500, 300)},
		{Service: "sfn", Category: "SendTaskHeartbeat", Operations: []string{"SendTaskHeartbeat"}, Large: b(3000, 500), Bucket: b(1500, 300)},
		{Service: "sfn", Category: "StopExecution", Operations: []string{"StopExecution"}, Large: b(1000, 200), Bucket: b(500, 25)},
	}}
}

// throttleAnswer is how each service says "throttled" (the exception and
// its HTTP status; every one of these is 400).
var throttleAnswer = map[string]string{
	"ecs":     "ThrottlingException",
	"sfn":     "ThrottlingException",
	"tagging": "ThrottledException",
}

// ThrottleError is what a service answers to a call over its rate.
func ThrottleError(service, op string) *awsproto.Error {
	typ := throttleAnswer[service]
	if typ == "" {
		typ = "ThrottlingException"
	}
	return &awsproto.Error{Type: typ, Status: 400, Message: "Rate exceeded"}
}

// limiter enforces a Realism on a clock.
type limiter struct {
	clk clock.Clock
	r   *Realism

	mu      sync.Mutex
	buckets map[bucketKey]*tokens
}

type bucketKey struct{ account, region, service, category string }

type tokens struct {
	n    float64
	last time.Time
}

func newLimiter(clk clock.Clock, r *Realism) *limiter {
	return &limiter{clk: clk, r: r, buckets: map[bucketKey]*tokens{}}
}

// limit is the bucket of service:op in region, if any.
func (r *Realism) limit(service, op, region string) (*Limit, *Bucket) {
	for i := range r.Limits {
		l := &r.Limits[i]
		if l.Service != service || len(l.Operations) > 0 && !slices.Contains(l.Operations, op) {
			continue
		}
		if l.Large != nil && slices.Contains(largeRegions, region) {
			return l, l.Large
		}
		return l, l.Bucket
	}
	return nil, nil
}

// take takes a token for the call, or answers the service's throttling
// error. The bucket refills continuously at its rate (the page's "a set
// number of tokens every second", spread over the second), up to its burst.
func (l *limiter) take(account, region, service, op, accessKey string) *awsproto.Error {
	lim, bucket := l.r.limit(service, op, region)
	if bucket == nil || accessKey != "" && slices.Contains(l.r.Observers, accessKey) {
		return nil
	}
	now := l.clk.Now()
	l.mu.Lock()
	defer l.mu.Unlock()
	k := bucketKey{account, region, service, lim.Category}
	t := l.buckets[k]
	if t == nil {
		t = &tokens{n: bucket.Burst, last: now}
		l.buckets[k] = t
	}
	if dt := now.Sub(t.last).Seconds(); dt > 0 {
		t.n = min(bucket.Burst, t.n+dt*bucket.Rate)
		t.last = now
	}
	if t.n < 1 {
		e := ThrottleError(service, op)
		e.Message = fmt.Sprintf("Rate exceeded (%s, %g per second)", lim.Category, bucket.Rate)
		return e
	}
	t.n--
	return nil
}

// SetRealism turns the realism mode on (r: DocumentedRealism() or a table
// of one's own) or off (nil). Buckets start full.
func (s *Server) SetRealism(r *Realism) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if r == nil {
		s.limiter = nil
		return
	}
	s.limiter = newLimiter(s.Clock, r)
}

func (s *Server) realism() *limiter {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.limiter
}
