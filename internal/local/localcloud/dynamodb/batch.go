package dynamodb

import (
	"context"
	"fmt"
	"sort"
	"strings"

	"github.com/pushdeploy/pushdeploy/internal/local/localcloud/awsproto"
)

type batchGetInput struct {
	RequestItems map[string]struct {
		legacy
		Keys                     []Item
		ProjectionExpression     string
		ExpressionAttributeNames map[string]string
		ConsistentRead           bool
	}
	ReturnConsumedCapacity string
}

func (s *Service) batchGetItem(ctx context.Context, in *batchGetInput) (any, error) {
	if len(in.RequestItems) == 0 {
		return nil, awsproto.Validation("1 validation error detected: Value null at 'requestItems' failed to satisfy constraint: Member must have length greater than or equal to 1")
	}
	total := 0
	for _, r := range in.RequestItems {
		total += len(r.Keys)
	}
	if total > 100 {
		return nil, awsproto.Validation("Too many items requested for the BatchGetItem call")
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	now := s.clk.Now()
	responses := map[string][]Item{}
	for name, r := range in.RequestItems {
		if len(r.Keys) == 0 {
			return nil, awsproto.Validation("1 validation error detected: Keys must have at least 1 member")
		}
		seen := map[string]bool{}
		responses[name] = []Item{}
		for _, k := range r.Keys {
			t, err := s.table(name)
			if err != nil {
				return nil, err
			}
			if err := t.checkKey(k); err != nil {
				return nil, err
			}
			if seen[t.pk(k)] {
				return nil, awsproto.Validation("Provided list of item keys contains duplicates")
			}
			seen[t.pk(k)] = true
			it, err := s.getLocked(&getInput{legacy: r.legacy, TableName: name, Key: k, ProjectionExpression: r.ProjectionExpression,
				ExpressionAttributeNames: r.ExpressionAttributeNames}, now)
			if err != nil {
				return nil, err
			}
			if it != nil {
				responses[name] = append(responses[name], it)
			}
		}
	}
	return map[string]any{"Responses": responses, "UnprocessedKeys": map[string]any{}}, nil
}

type batchWriteInput struct {
	RequestItems map[string][]struct {
		PutRequest    *struct{ Item Item }
		DeleteRequest *struct{ Key Item }
	}
	ReturnConsumedCapacity      string
	ReturnItemCollectionMetrics string
}

func (s *Service) batchWriteItem(ctx context.Context, in *batchWriteInput) (any, error) {
	total := 0
	for _, reqs := range in.RequestItems {
		total += len(reqs)
	}
	if total == 0 || total > 25 {
		return nil, awsproto.Validation("1 validation error detected: Value at 'requestItems' failed to satisfy constraint: Map value must satisfy constraint: [Member must have length less than or equal to 25, Member must have length greater than or equal to 1]")
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	now := s.clk.Now()
	// Check every request before writing any, as AWS rejects the batch whole.
	var changes []*change
	seen := map[string]bool{}
	names := make([]string, 0, len(in.RequestItems))
	for n := range in.RequestItems {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, name := range names {
		for _, r := range in.RequestItems[name] {
			var ch *change
			var err error
			switch {
			case r.PutRequest != nil && r.DeleteRequest == nil:
				ch, err = s.prepare("Put", &writeInput{TableName: name, Item: r.PutRequest.Item}, now)
			case r.DeleteRequest != nil && r.PutRequest == nil:
				ch, err = s.prepare("Delete", &writeInput{TableName: name, Key: r.DeleteRequest.Key}, now)
			default:
				err = awsproto.Validation("Supplied AttributeValue has more than one datatypes set: a write request must have exactly one of PutRequest or DeleteRequest")
			}
			if err != nil {
				return nil, err
			}
			if seen[name+"\x01"+ch.key] {
				return nil, awsproto.Validation("Provided list of item keys contains duplicates")
			}
			seen[name+"\x01"+ch.key] = true
			changes = append(changes, ch)
		}
	}
	for _, ch := range changes {
		ch.commit()
	}
	awsproto.Note(ctx, "writes", itoa(len(changes)))
	return map[string]any{"UnprocessedItems": map[string]any{}}, nil
}

type transactWriteInput struct {
	TransactItems []struct {
		ConditionCheck *writeInput
		Put            *writeInput
		Delete         *writeInput
		Update         *writeInput
	}
	ClientRequestToken          string
	ReturnConsumedCapacity      string
	ReturnItemCollectionMetrics string
}

func (s *Service) transactWriteItems(ctx context.Context, in *transactWriteInput) (any, error) {
	if len(in.TransactItems) == 0 || len(in.TransactItems) > 100 {
		return nil, awsproto.Validation("1 validation error detected: Value at 'transactItems' failed to satisfy constraint: Member must have length less than or equal to 100, greater than or equal to 1")
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	now := s.clk.Now()
	var changes []*change
	reasons := make([]map[string]any, len(in.TransactItems))
	failed := false
	seen := map[string]bool{}
	for i, ti := range in.TransactItems {
		kinds := map[string]*writeInput{"ConditionCheck": ti.ConditionCheck, "Put": ti.Put, "Delete": ti.Delete, "Update": ti.Update}
		var kind string
		var w *writeInput
		for k, v := range kinds {
			if v != nil {
				if w != nil {
					return nil, awsproto.Validation("TransactItems can only contain one of Check, Put, Update or Delete")
				}
				kind, w = k, v
			}
		}
		if w == nil {
			return nil, awsproto.Validation("TransactItems can only contain one of Check, Put, Update or Delete")
		}
		if w.ReturnValues != "" {
			return nil, awsproto.Validation("ReturnValues is not valid in a transaction; use ReturnValuesOnConditionCheckFailure")
		}
		ch, err := s.prepare(kind, w, now)
		if err != nil {
			var e *awsproto.Error
			if ok := asAWS(err, &e); ok && e.Type == "ConditionalCheckFailedException" {
				failed = true
				r := map[string]any{"Code": "ConditionalCheckFailed", "Message": e.Message}
				if item, ok := e.Fields["Item"]; ok {
					r["Item"] = item
				}
				reasons[i] = r
				continue
			}
			return nil, err
		}
		id := w.TableName + "\x01" + ch.key
		if seen[id] {
			return nil, awsproto.Validation("Transaction request cannot include multiple operations on one item")
		}
		seen[id] = true
		reasons[i] = map[string]any{"Code": "None"}
		changes = append(changes, ch)
	}
	if failed {
		var codes []string
		for _, r := range reasons {
			codes = append(codes, fmt.Sprint(r["Code"]))
		}
		e := awsproto.Errorf("TransactionCanceledException", "Transaction cancelled, please refer cancellation reasons for specific reasons [%s]", strings.Join(codes, ", "))
		e.Fields = map[string]any{"CancellationReasons": reasons}
		return nil, e
	}
	for _, ch := range changes {
		ch.commit()
	}
	awsproto.Note(ctx, "writes", itoa(len(changes)))
	return struct{}{}, nil
}

func asAWS(err error, target **awsproto.Error) bool {
	e, ok := err.(*awsproto.Error)
	if ok {
		*target = e
	}
	return ok
}

type transactGetInput struct {
	TransactItems []struct {
		Get *getInput
	}
	ReturnConsumedCapacity string
}

func (s *Service) transactGetItems(ctx context.Context, in *transactGetInput) (any, error) {
	if len(in.TransactItems) == 0 || len(in.TransactItems) > 100 {
		return nil, awsproto.Validation("TransactItems must have between 1 and 100 members")
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	now := s.clk.Now()
	var out []map[string]any
	for _, ti := range in.TransactItems {
		if ti.Get == nil {
			return nil, awsproto.Validation("TransactItems must each have a Get")
		}
		it, err := s.getLocked(ti.Get, now)
		if err != nil {
			return nil, err
		}
		r := map[string]any{}
		if it != nil {
			r["Item"] = it
		}
		out = append(out, r)
	}
	return map[string]any{"Responses": out}, nil
}
