package history

import (
	"context"
	"errors"
	"fmt"
	"strconv"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/attributevalue"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	ddbtypes "github.com/aws/aws-sdk-go-v2/service/dynamodb/types"

	"github.com/pushdeploy/pushdeploy/internal/app/ledger"
)

const (
	skLedger       = "LEDGER"
	skFamily       = "SERVICES"
	attrVersion    = "version"
	familyPrefix   = "FAMILY#"
	attrServices   = "services"
	ledgerAttempts = 5
)

// ConflictError: the ledger kept changing under a finish (more than
// ledgerAttempts concurrent writers); the caller retries.
type ConflictError struct{ Service string }

func (e *ConflictError) Error() string {
	return fmt.Sprintf("ledger of %s changed concurrently %d times", e.Service, ledgerAttempts)
}

// CancelledError: DynamoDB cancelled the record-and-ledger transaction for
// a reason that passes (another request was writing one of its items, or
// an item's partition was throttled); nothing was written and the caller
// retries, with backoff. Throttled says which.
type CancelledError struct {
	Service   string
	Reason    string
	Throttled bool
	Err       error
}

func (e *CancelledError) Error() string {
	return fmt.Sprintf("record and ledger of %s: transaction cancelled (%s): %v", e.Service, e.Reason, e.Err)
}

func (e *CancelledError) Unwrap() error { return e.Err }

type ledgerItem struct {
	PK      string `dynamodbav:"pk"`
	SK      string `dynamodbav:"sk"`
	Version int64  `dynamodbav:"version"`
	ledger.Ledger
}

func (s *Store) ledgerKey(service string) map[string]ddbtypes.AttributeValue {
	return map[string]ddbtypes.AttributeValue{
		AttrPK: &ddbtypes.AttributeValueMemberS{Value: ServiceKey(service)},
		AttrSK: &ddbtypes.AttributeValueMemberS{Value: skLedger},
	}
}

// Ledger returns the service's ledger (empty if it has none).
func (s *Store) Ledger(ctx context.Context, service string) (ledger.Ledger, error) {
	l, _, err := s.readLedger(ctx, service)
	return l, err
}

func (s *Store) readLedger(ctx context.Context, service string) (ledger.Ledger, int64, error) {
	out, err := s.db.GetItem(ctx, &dynamodb.GetItemInput{
		TableName: aws.String(s.table), Key: s.ledgerKey(service), ConsistentRead: aws.Bool(true),
	})
	if err != nil {
		return ledger.Ledger{}, 0, fmt.Errorf("get ledger of %s: %w", service, err)
	}
	if len(out.Item) == 0 {
		return ledger.Ledger{Service: service}, 0, nil
	}
	var it ledgerItem
	if err := attributevalue.UnmarshalMap(out.Item, &it); err != nil {
		return ledger.Ledger{}, 0, fmt.Errorf("unmarshal ledger of %s: %w", service, err)
	}
	it.Ledger.Service = service
	return it.Ledger, it.Version, nil
}

// Finish writes an execution's terminal record and, in the same
// transaction, the ledger change that change derives from the service's
// current ledger. The record is written once: a second Finish of the same
// execution returns *DuplicateRecordError and changes nothing, so a retried
// finish never applies a change twice. A ledger written concurrently is
// read again and the change derived anew. It returns the applied change.
func (s *Store) Finish(ctx context.Context, r Record, change func(ledger.Ledger) ledger.Change) (ledger.Change, error) {
	w, err := s.FinishWith(ctx, r, change, nil)
	return w.Change, err
}

// Written is what FinishWith wrote.
type Written struct {
	Change ledger.Change
	// Ledger is the service's ledger as written, the change applied: what
	// comes next (cleanup) need not read it again.
	Ledger  ledger.Ledger
	Version int64 // the stored ledger's version
	// Also says whether the extra write was written with the record.
	Also bool
}

// FinishWith is Finish with one more conditional write that belongs with
// the record (finish's release of the lease, coord.Store.ReleaseWrite) in
// the same transaction, so that the three cost one call. When that write's
// condition fails, the record and ledger are written without it and
// Written.Also is false: the caller finds out why on its own.
func (s *Store) FinishWith(ctx context.Context, r Record, change func(ledger.Ledger) ledger.Change, also *ddbtypes.TransactWriteItem) (Written, error) {
	if _, err := s.recordPut(r); err != nil {
		return Written{}, err
	}
	for range ledgerAttempts {
		l, version, err := s.readLedger(ctx, r.Service)
		if err != nil {
			return Written{}, err
		}
		c := change(l)
		var items []ddbtypes.TransactWriteItem
		if c.Empty() {
			if also == nil {
				return Written{Change: c, Ledger: l, Version: version}, s.Put(ctx, r)
			}
			put, err := s.recordPut(r)
			if err != nil {
				return Written{}, err
			}
			items = append(items, ddbtypes.TransactWriteItem{Put: put})
		} else {
			rec := r
			rec.Quarantined, rec.Released = nil, c.Release
			for _, q := range c.Quarantine {
				rec.Quarantined = append(rec.Quarantined, q.Digest)
			}
			put, err := s.recordPut(rec)
			if err != nil {
				return Written{}, err
			}
			l.Apply(c)
			lput, err := s.ledgerPut(r.Service, l, version)
			if err != nil {
				return Written{}, err
			}
			items = append(items, ddbtypes.TransactWriteItem{Put: put}, ddbtypes.TransactWriteItem{Put: lput})
		}
		alsoAt := -1
		if also != nil {
			alsoAt = len(items)
			items = append(items, *also)
		}
		_, err = s.db.TransactWriteItems(ctx, &dynamodb.TransactWriteItemsInput{TransactItems: items})
		var tce *ddbtypes.TransactionCanceledException
		switch {
		case err == nil:
			return Written{Change: c, Ledger: l, Version: version + 1, Also: also != nil}, nil
		case errors.As(err, &tce) && failedAt(tce, 0):
			return Written{}, &DuplicateRecordError{ExecutionARN: r.ExecutionARN}
		case errors.As(err, &tce) && alsoAt > 0 && failedAt(tce, alsoAt):
			also = nil // its condition does not hold: the rest without it
			continue
		case errors.As(err, &tce) && !c.Empty() && failedAt(tce, 1):
			continue // another finish wrote the ledger: derive again
		case errors.As(err, &tce):
			// No condition failed: a conflict or throttling, which
			// the SDK does not retry. Said so, or it would read as an
			// internal error, which finish retries only a few times.
			reason := cancelReason(tce)
			return Written{}, &CancelledError{Service: r.Service, Reason: reason, Throttled: reason == "ThrottlingError", Err: err}
		default:
			return Written{}, fmt.Errorf("write record and ledger: %w", err)
		}
	}
	return Written{}, &ConflictError{Service: r.Service}
}

// cancelReason is the first cancellation reason other than None.
func cancelReason(tce *ddbtypes.TransactionCanceledException) string {
	for _, r := range tce.CancellationReasons {
		if c := aws.ToString(r.Code); c != "" && c != "None" {
			return c
		}
	}
	return "unknown"
}

// failedAt reports whether the transaction's item i failed its condition.
func failedAt(tce *ddbtypes.TransactionCanceledException, i int) bool {
	return len(tce.CancellationReasons) > i && aws.ToString(tce.CancellationReasons[i].Code) == "ConditionalCheckFailed"
}

// ledgerPut writes l as the version after version (0: none stored yet).
func (s *Store) ledgerPut(service string, l ledger.Ledger, version int64) (*ddbtypes.Put, error) {
	l.Service = service
	av, err := attributevalue.MarshalMap(ledgerItem{PK: ServiceKey(service), SK: skLedger, Version: version + 1, Ledger: l})
	if err != nil {
		return nil, fmt.Errorf("marshal ledger: %w", err)
	}
	p := &ddbtypes.Put{TableName: aws.String(s.table), Item: av, ConditionExpression: aws.String("attribute_not_exists(pk)")}
	if version > 0 {
		p.ConditionExpression = aws.String("#v = :v")
		p.ExpressionAttributeNames = map[string]string{"#v": attrVersion}
		p.ExpressionAttributeValues = map[string]ddbtypes.AttributeValue{":v": &ddbtypes.AttributeValueMemberN{Value: strconv.FormatInt(version, 10)}}
	}
	return p, nil
}

// JoinFamily records that service runs revisions of a task definition
// family and returns every service recorded for it, service included:
// cleanup of a family shared by services must protect all of them.
func (s *Store) JoinFamily(ctx context.Context, family, service string) ([]string, error) {
	if family == "" || service == "" {
		return nil, &InvalidRecordError{"a family and a service are required"}
	}
	out, err := s.db.UpdateItem(ctx, &dynamodb.UpdateItemInput{
		TableName: aws.String(s.table),
		Key: map[string]ddbtypes.AttributeValue{
			AttrPK: &ddbtypes.AttributeValueMemberS{Value: familyPrefix + family},
			AttrSK: &ddbtypes.AttributeValueMemberS{Value: skFamily},
		},
		UpdateExpression:          aws.String("ADD #s :s"),
		ExpressionAttributeNames:  map[string]string{"#s": attrServices},
		ExpressionAttributeValues: map[string]ddbtypes.AttributeValue{":s": &ddbtypes.AttributeValueMemberSS{Value: []string{service}}},
		ReturnValues:              ddbtypes.ReturnValueAllNew,
	})
	if err != nil {
		return nil, fmt.Errorf("record family %s: %w", family, err)
	}
	set, ok := out.Attributes[attrServices].(*ddbtypes.AttributeValueMemberSS)
	if !ok {
		return []string{service}, nil
	}
	return set.Value, nil
}

// ForgetIn is Forget from the ledger FinishWith wrote: one write, with no
// read, unless another finish wrote the ledger since (then Forget).
func (s *Store) ForgetIn(ctx context.Context, w Written, revisions []string) error {
	if len(revisions) == 0 {
		return nil
	}
	done, err := s.writeWithout(ctx, w.Ledger.Service, w.Ledger, w.Version, revisions)
	if err != nil || done {
		return err
	}
	return s.Forget(ctx, w.Ledger.Service, revisions)
}

// Forget drops revisions from the service's ledger (cleanup deregistered
// them), so that the ledger never holds as good a revision ECS cannot run.
func (s *Store) Forget(ctx context.Context, service string, revisions []string) error {
	if len(revisions) == 0 {
		return nil
	}
	for range ledgerAttempts {
		l, version, err := s.readLedger(ctx, service)
		if err != nil {
			return err
		}
		done, err := s.writeWithout(ctx, service, l, version, revisions)
		if err != nil || done {
			return err
		}
		// another finish wrote the ledger: read it again
	}
	return &ConflictError{Service: service}
}

// writeWithout writes l, at version, without revisions; done is false when
// the ledger is no longer at version (another finish wrote it).
func (s *Store) writeWithout(ctx context.Context, service string, l ledger.Ledger, version int64, revisions []string) (done bool, err error) {
	for _, r := range revisions {
		l = l.Without(r)
	}
	put, err := s.ledgerPut(service, l, version)
	if err != nil {
		return false, err
	}
	_, err = s.db.PutItem(ctx, putItemInput(put))
	var ccf *ddbtypes.ConditionalCheckFailedException
	switch {
	case err == nil:
		return true, nil
	case errors.As(err, &ccf):
		return false, nil
	default:
		return false, fmt.Errorf("forget revisions of %s: %w", service, err)
	}
}
