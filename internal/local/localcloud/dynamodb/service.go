// Package dynamodb is the local cloud's Amazon DynamoDB on AWS JSON 1.0
// (DynamoDB_20120810): tables with hash and range keys and secondary
// indexes, items of every AttributeValue type, condition, update, key
// condition, filter and projection expressions parsed from DynamoDB's
// grammar, Query and Scan with pagination, batch and transactional writes,
// and TTL on the local cloud's clock.
package dynamodb

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/pushdeploy/pushdeploy/internal/app/clock"
	"github.com/pushdeploy/pushdeploy/internal/local/localcloud/awsproto"
)

// Service is the local DynamoDB.
type Service struct {
	clk     clock.Clock
	account string

	mu     sync.Mutex
	tables map[string]*table
	tags   map[string]map[string]string // by table ARN
}

// New returns a DynamoDB with no tables.
func New(clk clock.Clock, account string) *Service {
	return &Service{clk: clk, account: account, tables: map[string]*table{}, tags: map[string]map[string]string{}}
}

func (s *Service) Name() string         { return "dynamodb" }
func (s *Service) TargetPrefix() string { return "DynamoDB_20120810" }

type handler func(s *Service, ctx context.Context, in json.RawMessage) (any, error)

var handlers = map[string]handler{
	"CreateTable":               decoded((*Service).createTable),
	"DescribeTable":             decoded((*Service).describeTable),
	"DeleteTable":               decoded((*Service).deleteTable),
	"ListTables":                decoded((*Service).listTables),
	"UpdateTimeToLive":          decoded((*Service).updateTimeToLive),
	"DescribeTimeToLive":        decoded((*Service).describeTimeToLive),
	"PutItem":                   decoded((*Service).putItem),
	"GetItem":                   decoded((*Service).getItem),
	"UpdateItem":                decoded((*Service).updateItem),
	"DeleteItem":                decoded((*Service).deleteItem),
	"Query":                     decoded((*Service).query),
	"Scan":                      decoded((*Service).scan),
	"BatchGetItem":              decoded((*Service).batchGetItem),
	"BatchWriteItem":            decoded((*Service).batchWriteItem),
	"TransactWriteItems":        decoded((*Service).transactWriteItems),
	"TransactGetItems":          decoded((*Service).transactGetItems),
	"TagResource":               decoded((*Service).tagResource),
	"UpdateContinuousBackups":   decoded((*Service).updateContinuousBackups),
	"DescribeContinuousBackups": decoded((*Service).describeContinuousBackups),
	"UntagResource":             decoded((*Service).untagResource),
	"ListTagsOfResource":        decoded((*Service).listTagsOfResource),
}

// Call serves one DynamoDB operation.
func (s *Service) Call(ctx context.Context, op string, input json.RawMessage) (any, error) {
	h, ok := handlers[op]
	if !ok {
		return nil, awsproto.UnknownOperation("dynamodb", op)
	}
	return h(s, ctx, input)
}

func decoded[In any](f func(*Service, context.Context, *In) (any, error)) handler {
	return func(s *Service, ctx context.Context, raw json.RawMessage) (any, error) {
		in := new(In)
		if err := json.Unmarshal(raw, in); err != nil {
			var aerr *awsproto.Error
			if errors.As(err, &aerr) {
				return nil, aerr
			}
			return nil, awsproto.Errorf("SerializationException", "cannot decode the request: %v", err)
		}
		return f(s, ctx, in)
	}
}

func newID() string {
	var b [16]byte
	rand.Read(b[:])
	h := hex.EncodeToString(b[:])
	return h[0:8] + "-" + h[8:12] + "-" + h[12:16] + "-" + h[16:20] + "-" + h[20:32]
}

// legacy rejects the pre-expression parameters, which the local cloud does
// not implement, rather than ignoring them.
type legacy struct {
	Expected            json.RawMessage
	AttributeUpdates    json.RawMessage
	ConditionalOperator json.RawMessage
	KeyConditions       json.RawMessage
	QueryFilter         json.RawMessage
	ScanFilter          json.RawMessage
	AttributesToGet     json.RawMessage
}

func (l legacy) check() error {
	for name, v := range map[string]json.RawMessage{"Expected": l.Expected, "AttributeUpdates": l.AttributeUpdates,
		"ConditionalOperator": l.ConditionalOperator, "KeyConditions": l.KeyConditions, "QueryFilter": l.QueryFilter,
		"ScanFilter": l.ScanFilter, "AttributesToGet": l.AttributesToGet} {
		if len(v) > 0 && string(v) != "null" {
			return awsproto.Validation("the legacy parameter %s is not supported by the local cloud; use expressions", name)
		}
	}
	return nil
}

// table returns a table by name or ARN; s.mu held.
func (s *Service) table(name string) (*table, error) {
	if strings.HasPrefix(name, "arn:") {
		if _, n, ok := strings.Cut(name, ":table/"); ok {
			name = n
		}
	}
	if name == "" {
		return nil, awsproto.Validation("1 validation error detected: Value null at 'tableName' failed to satisfy constraint: Member must not be null")
	}
	t, ok := s.tables[name]
	if !ok {
		return nil, awsproto.Errorf("ResourceNotFoundException", "Requested resource not found: Table: %s not found", name)
	}
	return t, nil
}

func validTableName(n string) bool {
	if len(n) < 3 || len(n) > 255 {
		return false
	}
	for _, c := range n {
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '_' || c == '-' || c == '.') {
			return false
		}
	}
	return true
}

// --- tables ---

type keyElem struct {
	AttributeName string
	KeyType       string
}

type indexIn struct {
	IndexName  string
	KeySchema  []keyElem
	Projection struct {
		ProjectionType   string
		NonKeyAttributes []string
	}
	ProvisionedThroughput map[string]any
	OnDemandThroughput    json.RawMessage
}

type createTableInput struct {
	TableName            string
	AttributeDefinitions []struct {
		AttributeName string
		AttributeType string
	}
	KeySchema              []keyElem
	GlobalSecondaryIndexes []indexIn
	LocalSecondaryIndexes  []indexIn
	BillingMode            string
	ProvisionedThroughput  map[string]any
	StreamSpecification    *struct{ StreamEnabled bool }
	SSESpecification       *struct {
		Enabled        bool
		SSEType        string
		KMSMasterKeyId string
	}
	Tags                      []tag
	TableClass                string
	DeletionProtectionEnabled bool
	OnDemandThroughput        json.RawMessage
	ResourcePolicy            json.RawMessage
	WarmThroughput            json.RawMessage
}

type tag struct {
	Key   string
	Value string
}

func parseKeySchema(ks []keyElem, what string) (keySchema, error) {
	switch {
	case len(ks) == 1 && ks[0].KeyType == "HASH":
		return keySchema{hash: ks[0].AttributeName}, nil
	case len(ks) == 2 && ks[0].KeyType == "HASH" && ks[1].KeyType == "RANGE":
		if ks[0].AttributeName == ks[1].AttributeName {
			return keySchema{}, awsproto.Validation("Invalid KeySchema: Both the Hash Key and the Range Key element in the KeySchema have the same name")
		}
		return keySchema{hash: ks[0].AttributeName, rng: ks[1].AttributeName}, nil
	}
	return keySchema{}, awsproto.Validation("Invalid KeySchema for %s: one HASH element, optionally followed by one RANGE element", what)
}

func (s *Service) createTable(ctx context.Context, in *createTableInput) (any, error) {
	awsproto.Note(ctx, "table", in.TableName)
	if !validTableName(in.TableName) {
		return nil, awsproto.Validation("TableName must be 3 to 255 of [a-zA-Z0-9_.-]: %q", in.TableName)
	}
	if in.StreamSpecification != nil && in.StreamSpecification.StreamEnabled {
		return nil, awsproto.Validation("DynamoDB Streams (StreamSpecification) are not supported by the local cloud")
	}
	keys, err := parseKeySchema(in.KeySchema, "the table")
	if err != nil {
		return nil, err
	}
	types := map[string]Kind{}
	for _, d := range in.AttributeDefinitions {
		k := kindByName(d.AttributeType)
		if k != KindS && k != KindN && k != KindB {
			return nil, awsproto.Validation("1 validation error detected: Value '%s' at 'attributeDefinitions.member.attributeType' failed to satisfy constraint: Member must satisfy enum value set: [B, N, S]", d.AttributeType)
		}
		types[d.AttributeName] = k
	}
	used := map[string]bool{}
	for _, a := range keys.attrs() {
		used[a] = true
	}
	t := &table{name: in.TableName, id: newID(), created: s.clk.Now(), keys: keys, attrTypes: types,
		indexes: map[string]*index{}, items: map[string]Item{}, protected: in.DeletionProtectionEnabled}
	billing := in.BillingMode
	switch billing {
	case "", "PROVISIONED":
		billing = "PROVISIONED"
		if in.ProvisionedThroughput == nil {
			return nil, awsproto.Validation("One or more parameter values were invalid: ReadCapacityUnits and WriteCapacityUnits must both be specified when BillingMode is PROVISIONED")
		}
	case "PAY_PER_REQUEST":
		if in.ProvisionedThroughput != nil {
			return nil, awsproto.Validation("One or more parameter values were invalid: Neither ReadCapacityUnits nor WriteCapacityUnits can be specified when BillingMode is PAY_PER_REQUEST")
		}
	default:
		return nil, awsproto.Validation("BillingMode %q is not valid: PROVISIONED or PAY_PER_REQUEST", billing)
	}
	t.billing, t.throughput = billing, in.ProvisionedThroughput
	if sse := in.SSESpecification; sse != nil && sse.Enabled {
		// Nothing is encrypted locally; DescribeTable reports what AWS would.
		t.sseType = sse.SSEType
		if t.sseType == "" {
			t.sseType = "KMS"
		}
	}
	addIndexes := func(list []indexIn, global bool) error {
		for _, ix := range list {
			ks, err := parseKeySchema(ix.KeySchema, "index "+ix.IndexName)
			if err != nil {
				return err
			}
			if ix.IndexName == "" || len(ix.IndexName) < 3 {
				return awsproto.Validation("IndexName must be at least 3 characters: %q", ix.IndexName)
			}
			if _, dup := t.indexes[ix.IndexName]; dup {
				return awsproto.Validation("One or more parameter values were invalid: Duplicate index name: %s", ix.IndexName)
			}
			if !global && (ks.hash != keys.hash || ks.rng == "") {
				return awsproto.Validation("One or more parameter values were invalid: Index KeySchema of local secondary index %s must have the table's hash key and a range key", ix.IndexName)
			}
			p := ix.Projection.ProjectionType
			switch p {
			case "ALL", "KEYS_ONLY":
				if len(ix.Projection.NonKeyAttributes) > 0 {
					return awsproto.Validation("One or more parameter values were invalid: ProjectionType is %s, but NonKeyAttributes is specified", p)
				}
			case "INCLUDE":
			default:
				return awsproto.Validation("One or more parameter values were invalid: Unknown ProjectionType for index %s: %q", ix.IndexName, p)
			}
			if global && billing == "PROVISIONED" && ix.ProvisionedThroughput == nil {
				return awsproto.Validation("One or more parameter values were invalid: ProvisionedThroughput must be specified for index: %s", ix.IndexName)
			}
			for _, a := range ks.attrs() {
				used[a] = true
			}
			t.indexes[ix.IndexName] = &index{name: ix.IndexName, global: global, keys: ks, projection: p,
				nonKey: ix.Projection.NonKeyAttributes, throughput: ix.ProvisionedThroughput}
		}
		return nil
	}
	if err := addIndexes(in.GlobalSecondaryIndexes, true); err != nil {
		return nil, err
	}
	if err := addIndexes(in.LocalSecondaryIndexes, false); err != nil {
		return nil, err
	}
	for a := range used {
		if _, ok := types[a]; !ok {
			return nil, awsproto.Validation("One or more parameter values were invalid: Some index key attributes are not defined in AttributeDefinitions. Keys: [%s], AttributeDefinitions: %s", a, attrList(types))
		}
	}
	if len(used) != len(types) {
		return nil, awsproto.Validation("One or more parameter values were invalid: Number of attributes in KeySchema does not exactly match number of attributes defined in AttributeDefinitions")
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, ok := s.tables[in.TableName]; ok {
		return nil, awsproto.Errorf("ResourceInUseException", "Table already exists: %s", in.TableName)
	}
	t.arn = tableARN(s.region(ctx), s.account, in.TableName)
	s.tables[in.TableName] = t
	s.setTags(t.arn, in.Tags)
	return map[string]any{"TableDescription": t.description(s.clk.Now())}, nil
}

func attrList(types map[string]Kind) string {
	var names []string
	for n := range types {
		names = append(names, n)
	}
	sort.Strings(names)
	return "[" + strings.Join(names, ", ") + "]"
}

func (s *Service) region(ctx context.Context) string {
	if r := awsproto.RequestFrom(ctx).Region; r != "" {
		return r
	}
	return awsproto.DefaultRegion
}

type tableInput struct{ TableName string }

func (s *Service) describeTable(ctx context.Context, in *tableInput) (any, error) {
	awsproto.Note(ctx, "table", in.TableName)
	s.mu.Lock()
	defer s.mu.Unlock()
	t, err := s.table(in.TableName)
	if err != nil {
		return nil, err
	}
	return map[string]any{"Table": t.description(s.clk.Now())}, nil
}

func (s *Service) deleteTable(ctx context.Context, in *tableInput) (any, error) {
	awsproto.Note(ctx, "table", in.TableName)
	s.mu.Lock()
	defer s.mu.Unlock()
	t, err := s.table(in.TableName)
	if err != nil {
		return nil, err
	}
	if t.protected {
		return nil, awsproto.Validation("Resource cannot be deleted as it is currently protected against deletion. Disable deletion protection first.")
	}
	d := t.description(s.clk.Now())
	d["TableStatus"] = "DELETING"
	delete(s.tables, t.name)
	delete(s.tags, t.arn)
	return map[string]any{"TableDescription": d}, nil
}

type listTablesInput struct {
	ExclusiveStartTableName string
	Limit                   *int
}

func (s *Service) listTables(ctx context.Context, in *listTablesInput) (any, error) {
	limit := 100
	if in.Limit != nil {
		if *in.Limit < 1 || *in.Limit > 100 {
			return nil, awsproto.Validation("1 validation error detected: Value '%d' at 'limit' failed to satisfy constraint: Member must have value between 1 and 100", *in.Limit)
		}
		limit = *in.Limit
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	var names []string
	for n := range s.tables {
		if n > in.ExclusiveStartTableName {
			names = append(names, n)
		}
	}
	sort.Strings(names)
	out := map[string]any{}
	if len(names) > limit {
		names = names[:limit]
		out["LastEvaluatedTableName"] = names[limit-1]
	}
	if names == nil {
		names = []string{}
	}
	out["TableNames"] = names
	return out, nil
}

type ttlInput struct {
	TableName               string
	TimeToLiveSpecification *struct {
		Enabled       bool
		AttributeName string
	}
}

func (s *Service) updateTimeToLive(ctx context.Context, in *ttlInput) (any, error) {
	awsproto.Note(ctx, "table", in.TableName)
	spec := in.TimeToLiveSpecification
	if spec == nil || spec.AttributeName == "" {
		return nil, awsproto.Validation("TimeToLiveSpecification with AttributeName and Enabled must be specified")
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	t, err := s.table(in.TableName)
	if err != nil {
		return nil, err
	}
	switch {
	case spec.Enabled && t.ttlEnabled:
		return nil, awsproto.Validation("TimeToLive is already enabled")
	case !spec.Enabled && !t.ttlEnabled:
		return nil, awsproto.Validation("TimeToLive is already disabled")
	case !spec.Enabled && spec.AttributeName != t.ttlAttr:
		return nil, awsproto.Validation("TimeToLive is active on a different AttributeName: current AttributeName is %s", t.ttlAttr)
	}
	t.ttlEnabled, t.ttlAttr = spec.Enabled, spec.AttributeName
	return map[string]any{"TimeToLiveSpecification": map[string]any{"Enabled": spec.Enabled, "AttributeName": spec.AttributeName}}, nil
}

func (s *Service) describeTimeToLive(ctx context.Context, in *tableInput) (any, error) {
	awsproto.Note(ctx, "table", in.TableName)
	s.mu.Lock()
	defer s.mu.Unlock()
	t, err := s.table(in.TableName)
	if err != nil {
		return nil, err
	}
	d := map[string]any{"TimeToLiveStatus": "DISABLED"}
	if t.ttlEnabled {
		d = map[string]any{"TimeToLiveStatus": "ENABLED", "AttributeName": t.ttlAttr}
	}
	return map[string]any{"TimeToLiveDescription": d}, nil
}

// --- tags ---

func (s *Service) setTags(arn string, tags []tag) {
	if len(tags) == 0 {
		return
	}
	if s.tags[arn] == nil {
		s.tags[arn] = map[string]string{}
	}
	for _, t := range tags {
		s.tags[arn][t.Key] = t.Value
	}
}

type tagInput struct {
	ResourceArn string
	Tags        []tag
	TagKeys     []string
	NextToken   string
}

func (s *Service) tableByARN(arn string) (*table, error) {
	for _, t := range s.tables {
		if t.arn == arn {
			return t, nil
		}
	}
	return nil, awsproto.Errorf("ResourceNotFoundException", "Requested resource not found: ResourceArn: %s not found", arn)
}

func (s *Service) tagResource(ctx context.Context, in *tagInput) (any, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, err := s.tableByARN(in.ResourceArn); err != nil {
		return nil, err
	}
	s.setTags(in.ResourceArn, in.Tags)
	return struct{}{}, nil
}

func (s *Service) untagResource(ctx context.Context, in *tagInput) (any, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, err := s.tableByARN(in.ResourceArn); err != nil {
		return nil, err
	}
	for _, k := range in.TagKeys {
		delete(s.tags[in.ResourceArn], k)
	}
	return struct{}{}, nil
}

func (s *Service) listTagsOfResource(ctx context.Context, in *tagInput) (any, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if _, err := s.tableByARN(in.ResourceArn); err != nil {
		return nil, err
	}
	var keys []string
	for k := range s.tags[in.ResourceArn] {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	out := []tag{}
	for _, k := range keys {
		out = append(out, tag{Key: k, Value: s.tags[in.ResourceArn][k]})
	}
	return map[string]any{"Tags": out}, nil
}

// --- writes ---

// writeInput is the shape PutItem, UpdateItem, DeleteItem and the
// transaction's Put, Update, Delete and ConditionCheck share.
type writeInput struct {
	legacy
	TableName                           string
	Item                                Item
	Key                                 Item
	UpdateExpression                    string
	ConditionExpression                 string
	ExpressionAttributeNames            map[string]string
	ExpressionAttributeValues           map[string]Value
	ReturnValues                        string
	ReturnValuesOnConditionCheckFailure string
	ReturnConsumedCapacity              string
	ReturnItemCollectionMetrics         string
}

// change is a prepared write: checked, not yet applied.
type change struct {
	t        *table
	key      string
	old, new Item // new nil deletes
	write    bool
	upd      *update
}

func (c *change) commit() {
	if !c.write {
		return
	}
	if c.new == nil {
		delete(c.t.items, c.key)
		return
	}
	c.t.items[c.key] = c.new
}

// conditionFailed is the ConditionalCheckFailedException, with the item
// when ReturnValuesOnConditionCheckFailure is ALL_OLD.
func conditionFailed(old Item, rv string) *awsproto.Error {
	e := awsproto.Errorf("ConditionalCheckFailedException", "The conditional request failed")
	if rv == "ALL_OLD" && old != nil {
		e.Fields = map[string]any{"Item": old}
	}
	return e
}

// prepare checks a write of the given kind (Put, Update, Delete,
// ConditionCheck) against the current state; s.mu held.
func (s *Service) prepare(kind string, in *writeInput, now time.Time) (*change, error) {
	if err := in.legacy.check(); err != nil {
		return nil, err
	}
	t, err := s.table(in.TableName)
	if err != nil {
		return nil, err
	}
	switch in.ReturnValuesOnConditionCheckFailure {
	case "", "NONE", "ALL_OLD":
	default:
		return nil, awsproto.Validation("ReturnValuesOnConditionCheckFailure set to invalid value: %s", in.ReturnValuesOnConditionCheckFailure)
	}
	rvOK := map[string]bool{"": true, "NONE": true, "ALL_OLD": true}
	if kind == "Update" {
		rvOK["ALL_NEW"], rvOK["UPDATED_OLD"], rvOK["UPDATED_NEW"] = true, true, true
	}
	if !rvOK[in.ReturnValues] {
		return nil, awsproto.Validation("Return values set to invalid value")
	}
	sub, err := newSubst(in.ExpressionAttributeNames, in.ExpressionAttributeValues)
	if err != nil {
		return nil, err
	}
	var c cond
	if in.ConditionExpression != "" {
		if c, err = parseCondition("ConditionExpression", in.ConditionExpression, sub); err != nil {
			return nil, err
		}
	} else if kind == "ConditionCheck" {
		return nil, awsproto.Validation("ConditionExpression must be specified for ConditionCheck")
	}
	var upd *update
	if in.UpdateExpression != "" {
		if kind != "Update" {
			return nil, awsproto.Validation("UpdateExpression is only valid for updates")
		}
		if upd, err = parseUpdate(in.UpdateExpression, sub); err != nil {
			return nil, err
		}
	}
	if err := sub.checkUnused(); err != nil {
		return nil, err
	}
	ch := &change{t: t, write: kind != "ConditionCheck", upd: upd}
	if kind == "Put" {
		if in.Item == nil {
			return nil, awsproto.Validation("1 validation error detected: Value null at 'item' failed to satisfy constraint: Member must not be null")
		}
		if err := t.checkItem(in.Item); err != nil {
			return nil, err
		}
		ch.key = t.pk(in.Item)
	} else {
		if err := t.checkKey(in.Key); err != nil {
			return nil, err
		}
		ch.key = t.pk(in.Key)
	}
	ch.old = t.get(ch.key, now)
	if c != nil && !evalCond(ch.old, c) {
		return nil, conditionFailed(ch.old, in.ReturnValuesOnConditionCheckFailure)
	}
	switch kind {
	case "Put":
		ch.new = cloneItem(in.Item)
	case "Update":
		base := ch.old
		if base == nil {
			base = cloneItem(in.Key)
		}
		ch.new = cloneItem(base)
		if upd != nil {
			for _, p := range upd.paths() {
				if p[0].name == t.keys.hash || p[0].name == t.keys.rng {
					return nil, awsproto.Validation("One or more parameter values were invalid: Cannot update attribute %s. This attribute is part of the key", p[0].name)
				}
				if (len(upd.add) > 0 || len(upd.del) > 0) && len(p) > 1 && isAddOrDelete(upd, p) {
					return nil, awsproto.Validation("Invalid UpdateExpression: ADD and DELETE support only top-level attributes; path: %s", p)
				}
			}
			if ch.new, err = upd.apply(base); err != nil {
				return nil, err
			}
		}
		if err := t.checkItem(ch.new); err != nil {
			return nil, err
		}
	}
	return ch, nil
}

func isAddOrDelete(u *update, p docPath) bool {
	for _, a := range append(append([]addAction{}, u.add...), u.del...) {
		if a.path.String() == p.String() {
			return true
		}
	}
	return false
}

// returned is what ReturnValues asks to see of a committed change.
func (c *change) returned(rv string) Item {
	switch rv {
	case "ALL_OLD":
		return c.old
	case "ALL_NEW":
		return c.new
	case "UPDATED_OLD", "UPDATED_NEW":
		if c.upd == nil {
			return nil
		}
		src := c.old
		if rv == "UPDATED_NEW" {
			src = c.new
		}
		out := project(src, c.upd.paths())
		if len(out) == 0 {
			return nil
		}
		return out
	}
	return nil
}

func (s *Service) write(ctx context.Context, kind string, in *writeInput) (any, error) {
	awsproto.Note(ctx, "table", in.TableName)
	s.mu.Lock()
	defer s.mu.Unlock()
	ch, err := s.prepare(kind, in, s.clk.Now())
	if err != nil {
		return nil, err
	}
	ch.commit()
	out := map[string]any{}
	if a := ch.returned(in.ReturnValues); a != nil {
		out["Attributes"] = a
	}
	addCapacity(out, in.ReturnConsumedCapacity, ch.t.name, 1)
	return out, nil
}

func addCapacity(out map[string]any, mode, table string, units float64) {
	if mode == "TOTAL" || mode == "INDEXES" {
		out["ConsumedCapacity"] = map[string]any{"TableName": table, "CapacityUnits": units}
	}
}

func (s *Service) putItem(ctx context.Context, in *writeInput) (any, error) {
	return s.write(ctx, "Put", in)
}

func (s *Service) updateItem(ctx context.Context, in *writeInput) (any, error) {
	return s.write(ctx, "Update", in)
}

func (s *Service) deleteItem(ctx context.Context, in *writeInput) (any, error) {
	return s.write(ctx, "Delete", in)
}

// --- reads ---

type getInput struct {
	legacy
	TableName                string
	Key                      Item
	ConsistentRead           bool
	ProjectionExpression     string
	ExpressionAttributeNames map[string]string
	ReturnConsumedCapacity   string
}

// readProjection parses a ProjectionExpression alone (GetItem, BatchGet).
func readProjection(expr string, names map[string]string) ([]docPath, error) {
	sub, err := newSubst(names, nil)
	if err != nil {
		return nil, err
	}
	var paths []docPath
	if expr != "" {
		if paths, err = parseProjection(expr, sub); err != nil {
			return nil, err
		}
	}
	return paths, sub.checkUnused()
}

// getLocked reads one item; s.mu held.
func (s *Service) getLocked(in *getInput, now time.Time) (Item, error) {
	if err := in.legacy.check(); err != nil {
		return nil, err
	}
	t, err := s.table(in.TableName)
	if err != nil {
		return nil, err
	}
	paths, err := readProjection(in.ProjectionExpression, in.ExpressionAttributeNames)
	if err != nil {
		return nil, err
	}
	if err := t.checkKey(in.Key); err != nil {
		return nil, err
	}
	it := t.get(t.pk(in.Key), now)
	if it != nil && paths != nil {
		it = project(it, paths)
	}
	return it, nil
}

func (s *Service) getItem(ctx context.Context, in *getInput) (any, error) {
	awsproto.Note(ctx, "table", in.TableName)
	s.mu.Lock()
	defer s.mu.Unlock()
	it, err := s.getLocked(in, s.clk.Now())
	if err != nil {
		return nil, err
	}
	out := map[string]any{}
	if it != nil {
		out["Item"] = it
	}
	addCapacity(out, in.ReturnConsumedCapacity, in.TableName, 0.5)
	return out, nil
}

type backupsInput struct {
	TableName                        string
	PointInTimeRecoverySpecification *struct {
		PointInTimeRecoveryEnabled bool
		RecoveryPeriodInDays       int
	}
}

// updateContinuousBackups records the point-in-time recovery setting; the
// local cloud keeps no backups, but the setting reads back as on AWS.
func (s *Service) updateContinuousBackups(ctx context.Context, in *backupsInput) (any, error) {
	awsproto.Note(ctx, "table", in.TableName)
	if in.PointInTimeRecoverySpecification == nil {
		return nil, awsproto.Validation("1 validation error detected: Value null at 'pointInTimeRecoverySpecification' failed to satisfy constraint: Member must not be null")
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	t, err := s.table(in.TableName)
	if err != nil {
		return nil, err
	}
	t.pitr = in.PointInTimeRecoverySpecification.PointInTimeRecoveryEnabled
	return map[string]any{"ContinuousBackupsDescription": t.backups()}, nil
}

func (s *Service) describeContinuousBackups(ctx context.Context, in *backupsInput) (any, error) {
	awsproto.Note(ctx, "table", in.TableName)
	s.mu.Lock()
	defer s.mu.Unlock()
	t, err := s.table(in.TableName)
	if err != nil {
		return nil, awsproto.Errorf("TableNotFoundException", "Table not found: %s", in.TableName)
	}
	return map[string]any{"ContinuousBackupsDescription": t.backups()}, nil
}
