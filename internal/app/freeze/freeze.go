// Package freeze holds deploys back: an operator freezes one service, or
// every service of a cluster, with a reason and an optional end; a push
// planned while a freeze covers its service is recorded SKIPPED with the
// freeze's explanation. Only push-triggered deploys are held: alarm
// rollbacks (and an operator's own manual executions) still run.
//
// Freezes live in the history table (package history), one partition per
// cluster, so plan reads every freeze that may cover a service in one
// Query:
//
//	pk "FREEZE#<cluster name>"  sk "ALL"                  every service of the cluster
//	pk "FREEZE#<cluster name>"  sk "SVC#<service ARN>"    one service
//
// Writes are conditional: a freeze is not overwritten while it is in force
// (*FrozenError names the one there), and unfreezing what is not frozen is
// *NotFrozenError. expiresAt (the table's TTL attribute) is set to Until,
// so DynamoDB removes an ended freeze eventually; readers check Until
// themselves, since TTL deletion is lazy.
//
// IAM: dynamodb:PutItem, DeleteItem (the CLI), dynamodb:Query (plan).
package freeze

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/attributevalue"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	ddbtypes "github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/pushdeploy/pushdeploy/internal/app/awsapi"
)

// ReasonPrefix starts the reason of a push skipped by a freeze.
const ReasonPrefix = "frozen: "

// MaxReason bounds a freeze's reason (it is quoted in every skip).
const MaxReason = 512

// Freeze is one freeze.
type Freeze struct {
	// Cluster is the cluster's name.
	Cluster string `dynamodbav:"cluster" json:"cluster"`
	// Service is the service's ARN; "" freezes every service of Cluster.
	Service string    `dynamodbav:"service,omitempty" json:"service,omitempty"`
	Reason  string    `dynamodbav:"reason" json:"reason"`
	By      string    `dynamodbav:"by" json:"by"`
	Since   time.Time `dynamodbav:"since" json:"since"`
	// Until ends it; zero: in force until unfrozen.
	Until time.Time `dynamodbav:"until,omitempty" json:"until,omitzero"`
}

// Active reports whether the freeze is in force at now.
func (f Freeze) Active(now time.Time) bool { return f.Until.IsZero() || now.Before(f.Until) }

// Scope names what the freeze covers.
func (f Freeze) Scope() string {
	if f.Service == "" {
		return "every service of cluster " + f.Cluster
	}
	return f.Service
}

// Explain is the reason of a push skipped by the freeze:
// "frozen: <reason> by <who> until <T>".
func (f Freeze) Explain() string {
	until := "unfrozen"
	if !f.Until.IsZero() {
		until = f.Until.UTC().Format(time.RFC3339)
	}
	return fmt.Sprintf("%s%s by %s until %s", ReasonPrefix, f.Reason, f.By, until)
}

// Covering returns the freeze in force at now that covers service: the
// service's own, else the cluster's.
func Covering(fs []Freeze, service string, now time.Time) (Freeze, bool) {
	var all *Freeze
	for i, f := range fs {
		if !f.Active(now) {
			continue
		}
		if f.Service == service {
			return f, true
		}
		if f.Service == "" {
			all = &fs[i]
		}
	}
	if all != nil {
		return *all, true
	}
	return Freeze{}, false
}

// ClusterName is the name of a cluster given by name or ARN.
func ClusterName(cluster string) string {
	if i := strings.LastIndex(cluster, "/"); i >= 0 && strings.HasPrefix(cluster, "arn:") {
		return cluster[i+1:]
	}
	return cluster
}

// FrozenError: a freeze in force is already there.
type FrozenError struct{ Existing Freeze }

func (e *FrozenError) Error() string {
	return fmt.Sprintf("%s is already frozen (%s); unfreeze it first", e.Existing.Scope(), strings.TrimPrefix(e.Existing.Explain(), ReasonPrefix))
}

// NotFrozenError: nothing to unfreeze.
type NotFrozenError struct{ Scope string }

func (e *NotFrozenError) Error() string { return e.Scope + " is not frozen" }

// InvalidError: a freeze missing what it needs.
type InvalidError struct{ Reason string }

func (e *InvalidError) Error() string { return "invalid freeze: " + e.Reason }

// Store reads and writes freezes in the history table.
type Store struct {
	db    awsapi.DynamoDB
	table string
}

// NewStore returns a Store on table.
func NewStore(db awsapi.DynamoDB, table string) (*Store, error) {
	if db == nil || table == "" {
		return nil, errors.New("freeze: DynamoDB client and table name are required")
	}
	return &Store{db: db, table: table}, nil
}

func key(cluster, service string) map[string]ddbtypes.AttributeValue {
	sk := "ALL"
	if service != "" {
		sk = "SVC#" + service
	}
	return map[string]ddbtypes.AttributeValue{
		"pk": &ddbtypes.AttributeValueMemberS{Value: "FREEZE#" + ClusterName(cluster)},
		"sk": &ddbtypes.AttributeValueMemberS{Value: sk},
	}
}

type item struct {
	PK        string `dynamodbav:"pk"`
	SK        string `dynamodbav:"sk"`
	ExpiresAt int64  `dynamodbav:"expiresAt,omitempty"`
	Freeze
}

// Put writes a freeze unless one in force (at now) is there.
func (s *Store) Put(ctx context.Context, f Freeze, now time.Time) error {
	f.Cluster = ClusterName(f.Cluster)
	switch {
	case f.Cluster == "":
		return &InvalidError{Reason: "no cluster"}
	case strings.TrimSpace(f.Reason) == "":
		return &InvalidError{Reason: "a freeze needs a reason"}
	case len(f.Reason) > MaxReason:
		return &InvalidError{Reason: fmt.Sprintf("reason longer than %d bytes", MaxReason)}
	case !f.Until.IsZero() && !f.Until.After(now):
		return &InvalidError{Reason: "until " + f.Until.UTC().Format(time.RFC3339) + " is not in the future"}
	}
	f.Since, f.Until = f.Since.UTC(), f.Until.UTC()
	if f.Until.Equal(time.Time{}.UTC()) {
		f.Until = time.Time{}
	}
	it := item{Freeze: f}
	k := key(f.Cluster, f.Service)
	it.PK, it.SK = k["pk"].(*ddbtypes.AttributeValueMemberS).Value, k["sk"].(*ddbtypes.AttributeValueMemberS).Value
	if !f.Until.IsZero() {
		it.ExpiresAt = f.Until.Unix()
	}
	av, err := attributevalue.MarshalMap(it)
	if err != nil {
		return fmt.Errorf("marshal freeze: %w", err)
	}
	// Replace only an ended freeze (until set and past).
	_, err = s.db.PutItem(ctx, &dynamodb.PutItemInput{
		TableName: aws.String(s.table), Item: av,
		ConditionExpression:                 aws.String("attribute_not_exists(pk) OR (attribute_exists(expiresAt) AND expiresAt <= :now)"),
		ExpressionAttributeValues:           map[string]ddbtypes.AttributeValue{":now": &ddbtypes.AttributeValueMemberN{Value: strconv.FormatInt(now.Unix(), 10)}},
		ReturnValuesOnConditionCheckFailure: ddbtypes.ReturnValuesOnConditionCheckFailureAllOld,
	})
	var ccf *ddbtypes.ConditionalCheckFailedException
	if errors.As(err, &ccf) {
		var old item
		_ = attributevalue.UnmarshalMap(ccf.Item, &old)
		return &FrozenError{Existing: old.Freeze}
	}
	if err != nil {
		return fmt.Errorf("put freeze: %w", err)
	}
	return nil
}

// Delete lifts the freeze of a service ("" the cluster's) and returns it.
func (s *Store) Delete(ctx context.Context, cluster, service string) (Freeze, error) {
	out, err := s.db.DeleteItem(ctx, &dynamodb.DeleteItemInput{
		TableName: aws.String(s.table), Key: key(cluster, service),
		ConditionExpression: aws.String("attribute_exists(pk)"),
		ReturnValues:        ddbtypes.ReturnValueAllOld,
	})
	var ccf *ddbtypes.ConditionalCheckFailedException
	if errors.As(err, &ccf) {
		return Freeze{}, &NotFrozenError{Scope: (Freeze{Cluster: ClusterName(cluster), Service: service}).Scope()}
	}
	if err != nil {
		return Freeze{}, fmt.Errorf("delete freeze: %w", err)
	}
	var old item
	if err := attributevalue.UnmarshalMap(out.Attributes, &old); err != nil {
		return Freeze{}, fmt.Errorf("unmarshal freeze: %w", err)
	}
	return old.Freeze, nil
}

// List returns the freezes of a cluster (ended ones included).
func (s *Store) List(ctx context.Context, cluster string) ([]Freeze, error) {
	k := key(cluster, "")
	var fs []Freeze
	var start map[string]ddbtypes.AttributeValue
	for {
		out, err := s.db.Query(ctx, &dynamodb.QueryInput{
			TableName:                 aws.String(s.table),
			KeyConditionExpression:    aws.String("pk = :pk"),
			ExpressionAttributeValues: map[string]ddbtypes.AttributeValue{":pk": k["pk"]},
			ConsistentRead:            aws.Bool(true),
			ExclusiveStartKey:         start,
		})
		if err != nil {
			return nil, fmt.Errorf("query freezes of %s: %w", ClusterName(cluster), err)
		}
		for _, av := range out.Items {
			var it item
			if err := attributevalue.UnmarshalMap(av, &it); err != nil {
				return nil, fmt.Errorf("unmarshal freeze: %w", err)
			}
			fs = append(fs, it.Freeze)
		}
		if len(out.LastEvaluatedKey) == 0 {
			return fs, nil
		}
		start = out.LastEvaluatedKey
	}
}

// For returns the freeze in force at now that covers a service, in one read.
func (s *Store) For(ctx context.Context, cluster, service string, now time.Time) (Freeze, bool, error) {
	fs, err := s.List(ctx, cluster)
	if err != nil {
		return Freeze{}, false, err
	}
	f, ok := Covering(fs, service, now)
	return f, ok, nil
}
