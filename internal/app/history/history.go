// Package history stores deployment records in DynamoDB: exactly one
// terminal record per execution, listed per service newest first, kept for
// a retention period, plus each service's ledger of revisions (package
// ledger), written in one transaction with the record that changes it.
//
// # Table
//
// One table with a string partition key "pk" and a string sort key "sk"
// (the lease package shares it). For template.yaml:
//
//	AttributeDefinitions: [{AttributeName: pk, AttributeType: S}, {AttributeName: sk, AttributeType: S}]
//	KeySchema:            [{AttributeName: pk, KeyType: HASH}, {AttributeName: sk, KeyType: RANGE}]
//	BillingMode:          PAY_PER_REQUEST
//	TimeToLiveSpecification: {AttributeName: expiresAt, Enabled: true}
//
// Items (service = the ECS service ARN):
//
//	pk "SVC#<service>"  sk "DEP#<startedAt UTC ms, fixed width>#<execution ARN>"  a deployment record, expiresAt set
//	pk "SVC#<service>"  sk "LEDGER"                                             the service's ledger (package ledger), version N
//	pk "FAMILY#<family>" sk "SERVICES"                                          services whose revisions are of the family (cleanup)
//	pk "SVC#<service>"  sk "LEASE"                                              the lease (package lease)
//
// IAM: dynamodb:GetItem, PutItem, UpdateItem, DeleteItem, Query on the table.
package history

import (
	"context"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/attributevalue"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	ddbtypes "github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/pushdeploy/pushdeploy/internal/app/awsapi"
	"github.com/pushdeploy/pushdeploy/internal/app/contract"
)

// Key attribute names and item kinds.
const (
	AttrPK        = "pk"
	AttrSK        = "sk"
	AttrExpiresAt = "expiresAt"

	skDeployPrefix = "DEP#"
)

// ServiceKey is the partition key value of a service's items.
func ServiceKey(service string) string { return "SVC#" + service }

// Outcome is an execution's terminal status: contract's Terminal, the one
// the finish function decides and the Fail state reads.
type Outcome = contract.Terminal

const (
	Succeeded  = contract.TerminalSucceeded
	RolledBack = contract.TerminalRolledBack
	Failed     = contract.TerminalFailed
	Superseded = contract.TerminalSuperseded
	Skipped    = contract.TerminalSkipped
)

// Image is one container image a deploy set.
type Image struct {
	Container string `dynamodbav:"container" json:"container"`
	// Image is the pinned reference <registry>/<repository>@sha256:<digest>.
	Image  string `dynamodbav:"image" json:"image"`
	Tag    string `dynamodbav:"tag,omitempty" json:"tag,omitempty"`
	Digest string `dynamodbav:"digest" json:"digest"`
}

// Record is one execution's terminal record.
type Record struct {
	// Service is the ECS service ARN (the partition).
	Service     string `dynamodbav:"service" json:"service"`
	Cluster     string `dynamodbav:"cluster" json:"cluster"`
	ServiceName string `dynamodbav:"serviceName" json:"serviceName"`
	// ExecutionARN identifies the execution; with StartedAt it makes the key.
	ExecutionARN string `dynamodbav:"executionArn" json:"executionArn"`
	// Action is deploy, rollback or redeploy; Trigger push, alarm or manual;
	// StartedBy who or what (IAM principal, alarm name, ECR event id).
	Action    string  `dynamodbav:"action" json:"action"`
	Trigger   string  `dynamodbav:"trigger" json:"trigger"`
	StartedBy string  `dynamodbav:"startedBy,omitempty" json:"startedBy,omitempty"`
	Images    []Image `dynamodbav:"images,omitempty" json:"images,omitempty"`
	// FromRevision ran before the execution, ToRevision runs after it (the
	// same when nothing changed or the deploy was rolled back to it).
	FromRevision string `dynamodbav:"fromRevision,omitempty" json:"fromRevision,omitempty"`
	ToRevision   string `dynamodbav:"toRevision,omitempty" json:"toRevision,omitempty"`
	// DeployedRevision is the revision the execution registered or put on the
	// service, even if it was rolled back.
	DeployedRevision string `dynamodbav:"deployedRevision,omitempty" json:"deployedRevision,omitempty"`
	// LastGoodBefore is the last good revision when the execution started:
	// where an alarm after this deploy's bake rolls back to.
	LastGoodBefore string `dynamodbav:"lastGoodBefore,omitempty" json:"lastGoodBefore,omitempty"`
	// Forced: an operator deployed a quarantined digest or rolled back to a
	// revision rolled back from, on purpose.
	Forced bool `dynamodbav:"forced,omitempty" json:"forced,omitempty"`
	// ApprovedBy is who approved a deploy that waited for an approval
	// (pushdeploy:approval=required), and ApprovedAt when.
	ApprovedBy string     `dynamodbav:"approvedBy,omitempty" json:"approvedBy,omitempty"`
	ApprovedAt *time.Time `dynamodbav:"approvedAt,omitempty" json:"approvedAt,omitempty"`
	// Quarantined and Released are the digests whose quarantine this
	// execution started or lifted (package ledger).
	Quarantined []string  `dynamodbav:"quarantined,omitempty" json:"quarantined,omitempty"`
	Released    []string  `dynamodbav:"released,omitempty" json:"released,omitempty"`
	Outcome     Outcome   `dynamodbav:"outcome" json:"outcome"`
	Reason      string    `dynamodbav:"reason,omitempty" json:"reason,omitempty"`
	StartedAt   time.Time `dynamodbav:"startedAt" json:"startedAt"`
	FinishedAt  time.Time `dynamodbav:"finishedAt" json:"finishedAt"`
	// Warnings are the plan's: problems that did not stop the execution.
	Warnings []string `dynamodbav:"warnings,omitempty" json:"warnings,omitempty"`
	// Strategy is the service's ECS deployment strategy when not ROLLING.
	Strategy string `dynamodbav:"strategy,omitempty" json:"strategy,omitempty"`
	// UndoPath says how a failed deploy went back (the Undo states), one
	// of the Undo* values; "" when nothing was undone.
	UndoPath string `dynamodbav:"undoPath,omitempty" json:"undoPath,omitempty"`
}

// How a failed deploy went back (Record.UndoPath).
const (
	// UndoStopped: StopServiceDeployment (ROLLBACK) while ECS's deployment
	// was in progress; ECS returned to the source revision.
	UndoStopped = "stop-service-deployment"
	// UndoByECS: ECS had already rolled back on its own (circuit breaker,
	// deployment alarms); pushdeploy waited for it.
	UndoByECS = "ecs-rollback"
	// UndoUpdated: UpdateService to the undo revision, a new deployment.
	UndoUpdated = "update-service"
)

// DuplicateRecordError: the execution already has its terminal record.
type DuplicateRecordError struct{ ExecutionARN string }

func (e *DuplicateRecordError) Error() string {
	return fmt.Sprintf("execution %s already has a terminal record", e.ExecutionARN)
}

// InvalidRecordError: a record missing what the key or readers need.
type InvalidRecordError struct{ Reason string }

func (e *InvalidRecordError) Error() string { return "invalid history record: " + e.Reason }

// Store reads and writes the history table.
type Store struct {
	db        awsapi.DynamoDB
	table     string
	retention time.Duration
}

// New returns a Store on table. Records expire retention after they finish
// (DynamoDB TTL on expiresAt); 0 keeps them forever.
func New(db awsapi.DynamoDB, table string, retention time.Duration) (*Store, error) {
	if db == nil || table == "" {
		return nil, errors.New("history: DynamoDB client and table name are required")
	}
	if retention < 0 {
		return nil, fmt.Errorf("history: negative retention %s", retention)
	}
	return &Store{db: db, table: table, retention: retention}, nil
}

// timeKey formats t sortably: fixed width, UTC, milliseconds (the precision
// of Step Functions' start times, so a time that went through JSON or
// another clock's rounding still gives the same key).
func timeKey(t time.Time) string {
	return t.UTC().Truncate(time.Millisecond).Format("2006-01-02T15:04:05.000Z")
}

// RecordKey is the sort key of an execution's record. StartedAt must be the
// execution's own start time (Step Functions' $$.Execution.StartTime), which
// never changes, so every terminal write of one execution hits one key.
func RecordKey(startedAt time.Time, executionARN string) string {
	return skDeployPrefix + timeKey(startedAt) + "#" + executionARN
}

type recordItem struct {
	PK        string `dynamodbav:"pk"`
	SK        string `dynamodbav:"sk"`
	ExpiresAt int64  `dynamodbav:"expiresAt,omitempty"`
	Record
}

// Put writes an execution's terminal record once. A second Put for the same
// execution (same ExecutionARN and StartedAt) returns *DuplicateRecordError
// and changes nothing.
func (s *Store) Put(ctx context.Context, r Record) error {
	put, err := s.recordPut(r)
	if err != nil {
		return err
	}
	_, err = s.db.PutItem(ctx, putItemInput(put))
	var ccf *ddbtypes.ConditionalCheckFailedException
	if errors.As(err, &ccf) {
		return &DuplicateRecordError{ExecutionARN: r.ExecutionARN}
	}
	if err != nil {
		return fmt.Errorf("put record: %w", err)
	}
	return nil
}

// putItemInput is a transaction's Put as a PutItem on its own.
func putItemInput(p *ddbtypes.Put) *dynamodb.PutItemInput {
	return &dynamodb.PutItemInput{
		TableName: p.TableName, Item: p.Item, ConditionExpression: p.ConditionExpression,
		ExpressionAttributeNames: p.ExpressionAttributeNames, ExpressionAttributeValues: p.ExpressionAttributeValues,
	}
}

// recordPut is the conditional write of a terminal record.
func (s *Store) recordPut(r Record) (*ddbtypes.Put, error) {
	switch {
	case r.Service == "":
		return nil, &InvalidRecordError{"no service"}
	case r.ExecutionARN == "":
		return nil, &InvalidRecordError{"no execution ARN"}
	case r.StartedAt.IsZero():
		return nil, &InvalidRecordError{"no start time"}
	case !r.Outcome.Valid():
		return nil, &InvalidRecordError{fmt.Sprintf("unknown outcome %q", r.Outcome)}
	}
	if r.FinishedAt.IsZero() {
		return nil, &InvalidRecordError{"no finish time"}
	}
	it := recordItem{PK: ServiceKey(r.Service), SK: RecordKey(r.StartedAt, r.ExecutionARN), Record: r}
	if s.retention > 0 {
		it.ExpiresAt = r.FinishedAt.Add(s.retention).Unix()
	}
	av, err := attributevalue.MarshalMap(it)
	if err != nil {
		return nil, fmt.Errorf("marshal record: %w", err)
	}
	return &ddbtypes.Put{
		TableName:           aws.String(s.table),
		Item:                av,
		ConditionExpression: aws.String("attribute_not_exists(pk)"),
	}, nil
}

// Page is one page of records, newest first. Next is empty on the last page.
type Page struct {
	Records []Record
	Next    string
}

// InvalidPageTokenError: a page token List did not produce.
type InvalidPageTokenError struct{ Token string }

func (e *InvalidPageTokenError) Error() string { return fmt.Sprintf("invalid page token %q", e.Token) }

// List returns up to limit records of a service, newest first, starting
// after the page token (empty for the first page). limit <= 0 means 25.
func (s *Store) List(ctx context.Context, service string, limit int, token string) (Page, error) {
	if limit <= 0 {
		limit = 25
	}
	in := &dynamodb.QueryInput{
		TableName:              aws.String(s.table),
		KeyConditionExpression: aws.String("pk = :pk AND begins_with(sk, :dep)"),
		ExpressionAttributeValues: map[string]ddbtypes.AttributeValue{
			":pk":  &ddbtypes.AttributeValueMemberS{Value: ServiceKey(service)},
			":dep": &ddbtypes.AttributeValueMemberS{Value: skDeployPrefix},
		},
		ScanIndexForward: aws.Bool(false),
		Limit:            aws.Int32(int32(limit)),
		ConsistentRead:   aws.Bool(true),
	}
	if token != "" {
		start, err := decodeToken(token, ServiceKey(service))
		if err != nil {
			return Page{}, err
		}
		in.ExclusiveStartKey = start
	}
	out, err := s.db.Query(ctx, in)
	if err != nil {
		return Page{}, fmt.Errorf("query history of %s: %w", service, err)
	}
	var p Page
	for _, item := range out.Items {
		var it recordItem
		if err := attributevalue.UnmarshalMap(item, &it); err != nil {
			return Page{}, fmt.Errorf("unmarshal record: %w", err)
		}
		p.Records = append(p.Records, it.Record)
	}
	if len(out.LastEvaluatedKey) > 0 {
		p.Next, err = encodeToken(out.LastEvaluatedKey)
		if err != nil {
			return Page{}, err
		}
	}
	return p, nil
}

// Latest returns the newest record of a service, or ok false if none.
func (s *Store) Latest(ctx context.Context, service string) (Record, bool, error) {
	p, err := s.List(ctx, service, 1, "")
	if err != nil || len(p.Records) == 0 {
		return Record{}, false, err
	}
	return p.Records[0], true, nil
}

type pageToken struct {
	PK string `json:"p"`
	SK string `json:"s"`
}

func encodeToken(key map[string]ddbtypes.AttributeValue) (string, error) {
	var t pageToken
	pk, ok1 := key[AttrPK].(*ddbtypes.AttributeValueMemberS)
	sk, ok2 := key[AttrSK].(*ddbtypes.AttributeValueMemberS)
	if !ok1 || !ok2 {
		return "", errors.New("history: unexpected LastEvaluatedKey")
	}
	t.PK, t.SK = pk.Value, sk.Value
	b, _ := json.Marshal(t)
	return base64.RawURLEncoding.EncodeToString(b), nil
}

func decodeToken(token, pk string) (map[string]ddbtypes.AttributeValue, error) {
	b, err := base64.RawURLEncoding.DecodeString(token)
	var t pageToken
	if err != nil || json.Unmarshal(b, &t) != nil || t.PK != pk || !strings.HasPrefix(t.SK, skDeployPrefix) {
		return nil, &InvalidPageTokenError{Token: token}
	}
	return map[string]ddbtypes.AttributeValue{
		AttrPK: &ddbtypes.AttributeValueMemberS{Value: t.PK},
		AttrSK: &ddbtypes.AttributeValueMemberS{Value: t.SK},
	}, nil
}
