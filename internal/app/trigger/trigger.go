// Package trigger makes push and alarm triggers unforgeable. Anyone allowed
// to call states:StartExecution can write any execution input, including
// "trigger":"push" with a push time in 2099; only the dispatch function may
// start push- and alarm-triggered executions. Before StartExecution,
// dispatch issues a ticket for the execution: the hash of its input and,
// for a push, its place in the service's order. Plan verifies the ticket of
// its own execution name before anything is written; an execution without
// a matching ticket is refused. A promotion (a follower's deploy started
// when its leader's deploy SUCCEEDED) is issued its ticket by the leader's
// finish the same way: a manual StartExecution posing as one is refused.
//
// # Table
//
// The history table (package history), one item per ticket:
//
//	pk "SVC#<service ARN>"  sk "TRIGGER#<execution name>"  input (sha256 hex), seq, tie, expiresAt
//
// Step Functions refuses a second execution of a name for 90 days, so a
// ticket cannot be replayed by another execution; it expires after TTL.
//
// IAM: dispatch and finish dynamodb:PutItem, plan dynamodb:GetItem on the table.
package trigger

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/attributevalue"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	ddbtypes "github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/pushdeploy/pushdeploy/internal/app/awsapi"
	"github.com/pushdeploy/pushdeploy/internal/app/clock"
	"github.com/pushdeploy/pushdeploy/internal/app/contract"
)

// TTL is how long a ticket is honoured. Plan runs seconds after dispatch;
// a day covers StartExecution and plan retries with a wide margin.
const TTL = 24 * time.Hour

// Ticket is what dispatch vouches for about one execution.
type Ticket struct {
	// Seq and Tie order a push among the service's executions (coord.Request):
	// Seq is the push time in Unix ms (PushTime), Tie the digest. Zero for
	// alarms, which are ordered by their start time like manual executions.
	Seq int64
	Tie string
}

// UntrustedError: an execution claims a push or alarm trigger that dispatch
// did not issue (no ticket, an expired one, or one for another input).
type UntrustedError struct {
	Trigger   contract.Trigger
	Execution string
	Reason    string
}

func (e *UntrustedError) Error() string {
	by := "dispatch"
	if e.Trigger == contract.TriggerPromotion {
		by = "finish (the leader's success)"
	}
	return fmt.Sprintf("trigger %s is set by pushdeploy's %s only: execution %s: %s", e.Trigger, by, e.Execution, e.Reason)
}

// Trusted reports whether in claims a trigger that needs a ticket.
func Trusted(in contract.ExecutionInput) bool {
	return in.Trigger == contract.TriggerPush || in.Trigger == contract.TriggerAlarm || in.Trigger == contract.TriggerPromotion
}

// InputHash is the sha256 of the canonical encoding of in: the decoded
// struct marshalled again, times in UTC. Step Functions re-serializes the
// input it is given, so the raw bytes dispatch sent and plan receives differ.
func InputHash(in contract.ExecutionInput) (string, error) {
	if in.Push != nil {
		p := *in.Push
		p.Time = p.Time.UTC()
		in.Push = &p
	}
	if in.Alarm != nil {
		a := *in.Alarm
		a.Time = a.Time.UTC()
		in.Alarm = &a
	}
	b, err := json.Marshal(in)
	if err != nil {
		return "", fmt.Errorf("encode execution input: %w", err)
	}
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:]), nil
}

// PushTime is the time that orders a push among the service's executions.
// ECR's event time is whole seconds; imagePushedAt (DescribeImages) has
// milliseconds but is the image's first push. So: imagePushedAt when it
// falls in the event's second or the second before it (the event may be
// stamped just after the push): this push is the image's first. Otherwise
// the push moved a tag to an image pushed earlier (a retag, a revert), and
// its time is the last millisecond of the event's second: it wins over
// every first push of that second, as it may be the latest.
func PushTime(eventTime, imagePushedAt time.Time) time.Time {
	sec := eventTime.UTC().Truncate(time.Second)
	if !imagePushedAt.IsZero() && !imagePushedAt.Before(sec.Add(-time.Second)) && imagePushedAt.Before(sec.Add(time.Second)) {
		return imagePushedAt.UTC()
	}
	return sec.Add(time.Second - time.Millisecond)
}

// Store issues and verifies tickets.
type Store struct {
	db    awsapi.DynamoDB
	table string
	clk   clock.Clock
}

// New returns a Store on table (the history table).
func New(db awsapi.DynamoDB, table string, clk clock.Clock) (*Store, error) {
	if db == nil || table == "" || clk == nil {
		return nil, errors.New("trigger: DynamoDB client, table name and clock are required")
	}
	return &Store{db: db, table: table, clk: clk}, nil
}

func key(service, execution string) map[string]ddbtypes.AttributeValue {
	return map[string]ddbtypes.AttributeValue{
		"pk": &ddbtypes.AttributeValueMemberS{Value: "SVC#" + service},
		"sk": &ddbtypes.AttributeValueMemberS{Value: "TRIGGER#" + execution},
	}
}

type item struct {
	Input     string `dynamodbav:"input"`
	Seq       int64  `dynamodbav:"seq"`
	Tie       string `dynamodbav:"tie"`
	ExpiresAt int64  `dynamodbav:"expiresAt"` // epoch seconds (DynamoDB TTL)
}

// Issue writes the ticket of execution (its name) on service, for input in.
// Issuing again for a redelivered event overwrites it with the same values.
func (s *Store) Issue(ctx context.Context, service, execution string, in contract.ExecutionInput, t Ticket) error {
	if service == "" || execution == "" {
		return errors.New("trigger: service and execution name are required")
	}
	h, err := InputHash(in)
	if err != nil {
		return err
	}
	av, err := attributevalue.MarshalMap(item{Input: h, Seq: t.Seq, Tie: t.Tie, ExpiresAt: s.clk.Now().Add(TTL).Unix()})
	if err != nil {
		return fmt.Errorf("marshal ticket: %w", err)
	}
	for k, v := range key(service, execution) {
		av[k] = v
	}
	if _, err := s.db.PutItem(ctx, &dynamodb.PutItemInput{TableName: aws.String(s.table), Item: av}); err != nil {
		return fmt.Errorf("issue ticket of %s: %w", execution, err)
	}
	return nil
}

// Verify returns the ticket of execution (its name) on service if it was
// issued for exactly in and has not expired, *UntrustedError if not. An
// input that claims no push or alarm trigger needs no ticket: zero Ticket.
func (s *Store) Verify(ctx context.Context, service, execution string, in contract.ExecutionInput) (Ticket, error) {
	if !Trusted(in) {
		return Ticket{}, nil
	}
	untrusted := func(reason string) error {
		return &UntrustedError{Trigger: in.Trigger, Execution: execution, Reason: reason}
	}
	out, err := s.db.GetItem(ctx, &dynamodb.GetItemInput{
		TableName: aws.String(s.table), Key: key(service, execution), ConsistentRead: aws.Bool(true),
	})
	if err != nil {
		return Ticket{}, fmt.Errorf("read ticket of %s: %w", execution, err)
	}
	if len(out.Item) == 0 {
		return Ticket{}, untrusted("no ticket was issued for it")
	}
	var it item
	if err := attributevalue.UnmarshalMap(out.Item, &it); err != nil {
		return Ticket{}, fmt.Errorf("unmarshal ticket of %s: %w", execution, err)
	}
	// DynamoDB deletes expired items lazily (within days): check it here.
	if it.ExpiresAt <= s.clk.Now().Unix() {
		return Ticket{}, untrusted("its ticket expired at " + time.Unix(it.ExpiresAt, 0).UTC().Format(time.RFC3339))
	}
	h, err := InputHash(in)
	if err != nil {
		return Ticket{}, err
	}
	if h != it.Input {
		return Ticket{}, untrusted("the input differs from the one dispatch started (input " + short(h) + ", ticket " + short(it.Input) + ")")
	}
	return Ticket{Seq: it.Seq, Tie: it.Tie}, nil
}

func short(h string) string {
	if len(h) > 12 {
		return h[:12]
	}
	return h
}
