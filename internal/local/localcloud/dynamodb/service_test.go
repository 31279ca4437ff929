package dynamodb_test

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/aws/retry"
	"github.com/aws/aws-sdk-go-v2/feature/dynamodb/attributevalue"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
	"github.com/google/go-cmp/cmp"

	"github.com/pushdeploy/pushdeploy/internal/app/clock"
	"github.com/pushdeploy/pushdeploy/internal/local/localcloud"
	ddb "github.com/pushdeploy/pushdeploy/internal/local/localcloud/dynamodb"
	"github.com/pushdeploy/pushdeploy/internal/local/localcloud/localtest"
)

var start = time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)

type env struct {
	clk *clock.Virtual
	c   *dynamodb.Client
	log *localcloud.CallLog
	srv *localcloud.Server
}

func setup(t testing.TB) *env {
	t.Helper()
	clk := clock.NewVirtual(start)
	log := localcloud.NewCallLog(nil)
	url, srv := localtest.Start(t, clk, log, ddb.New(clk, localtest.Account))
	c := dynamodb.NewFromConfig(localtest.Config(url))
	return &env{clk: clk, c: c, log: log, srv: srv}
}

var ctx = context.Background()

func s(v string) types.AttributeValue { return &types.AttributeValueMemberS{Value: v} }
func n(v string) types.AttributeValue { return &types.AttributeValueMemberN{Value: v} }
func key(pk, sk string) map[string]types.AttributeValue {
	return map[string]types.AttributeValue{"pk": s(pk), "sk": s(sk)}
}

// createTable makes "t": pk (S) + sk (S), and a GSI "byStatus" on
// status (S) + at (N).
func (e *env) createTable(t testing.TB, name string) {
	t.Helper()
	_, err := e.c.CreateTable(ctx, &dynamodb.CreateTableInput{
		TableName: aws.String(name),
		AttributeDefinitions: []types.AttributeDefinition{
			{AttributeName: aws.String("pk"), AttributeType: types.ScalarAttributeTypeS},
			{AttributeName: aws.String("sk"), AttributeType: types.ScalarAttributeTypeS},
			{AttributeName: aws.String("state"), AttributeType: types.ScalarAttributeTypeS},
			{AttributeName: aws.String("at"), AttributeType: types.ScalarAttributeTypeN},
		},
		KeySchema: []types.KeySchemaElement{
			{AttributeName: aws.String("pk"), KeyType: types.KeyTypeHash},
			{AttributeName: aws.String("sk"), KeyType: types.KeyTypeRange},
		},
		GlobalSecondaryIndexes: []types.GlobalSecondaryIndex{{
			IndexName: aws.String("byState"),
			KeySchema: []types.KeySchemaElement{
				{AttributeName: aws.String("state"), KeyType: types.KeyTypeHash},
				{AttributeName: aws.String("at"), KeyType: types.KeyTypeRange},
			},
			Projection: &types.Projection{ProjectionType: types.ProjectionTypeKeysOnly},
		}},
		BillingMode:      types.BillingModePayPerRequest,
		SSESpecification: &types.SSESpecification{Enabled: aws.Bool(true)},
	})
	if err != nil {
		t.Fatal(err)
	}
}

func code(err error) string {
	var api interface{ ErrorCode() string }
	if errors.As(err, &api) {
		return api.ErrorCode()
	}
	return fmt.Sprint(err)
}

func TestTables(t *testing.T) {
	e := setup(t)
	for i := range 3 {
		e.createTable(t, fmt.Sprintf("table-%d", i))
	}
	_, err := e.c.CreateTable(ctx, &dynamodb.CreateTableInput{TableName: aws.String("table-0"),
		AttributeDefinitions: []types.AttributeDefinition{{AttributeName: aws.String("pk"), AttributeType: types.ScalarAttributeTypeS}},
		KeySchema:            []types.KeySchemaElement{{AttributeName: aws.String("pk"), KeyType: types.KeyTypeHash}},
		BillingMode:          types.BillingModePayPerRequest})
	var inUse *types.ResourceInUseException
	if !errors.As(err, &inUse) {
		t.Errorf("duplicate table: %v, want ResourceInUseException", err)
	}
	d, err := e.c.DescribeTable(ctx, &dynamodb.DescribeTableInput{TableName: aws.String("table-1")})
	if err != nil {
		t.Fatal(err)
	}
	if d.Table.TableStatus != types.TableStatusActive || aws.ToString(d.Table.TableArn) != "arn:aws:dynamodb:us-east-1:123456789012:table/table-1" ||
		len(d.Table.KeySchema) != 2 || len(d.Table.GlobalSecondaryIndexes) != 1 || !d.Table.CreationDateTime.Equal(start) ||
		d.Table.BillingModeSummary.BillingMode != types.BillingModePayPerRequest || d.Table.SSEDescription.Status != types.SSEStatusEnabled {
		t.Errorf("DescribeTable = %+v", d.Table)
	}
	var names []string
	p := dynamodb.NewListTablesPaginator(e.c, &dynamodb.ListTablesInput{Limit: aws.Int32(2)})
	pages := 0
	for p.HasMorePages() {
		out, err := p.NextPage(ctx)
		if err != nil {
			t.Fatal(err)
		}
		pages++
		names = append(names, out.TableNames...)
	}
	if diff := cmp.Diff([]string{"table-0", "table-1", "table-2"}, names); diff != "" || pages != 2 {
		t.Errorf("ListTables in %d pages (-want +got):\n%s", pages, diff)
	}
	if _, err := e.c.DeleteTable(ctx, &dynamodb.DeleteTableInput{TableName: aws.String("table-1")}); err != nil {
		t.Fatal(err)
	}
	_, err = e.c.DescribeTable(ctx, &dynamodb.DescribeTableInput{TableName: aws.String("table-1")})
	var nf *types.ResourceNotFoundException
	if !errors.As(err, &nf) {
		t.Errorf("DescribeTable of a deleted table: %v, want ResourceNotFoundException", err)
	}
	_, err = e.c.GetItem(ctx, &dynamodb.GetItemInput{TableName: aws.String("table-1"), Key: key("a", "b")})
	if !errors.As(err, &nf) {
		t.Errorf("GetItem on a deleted table: %v, want ResourceNotFoundException", err)
	}
	// Point-in-time recovery and SSE settings read back.
	if _, err := e.c.UpdateContinuousBackups(ctx, &dynamodb.UpdateContinuousBackupsInput{TableName: aws.String("table-2"),
		PointInTimeRecoverySpecification: &types.PointInTimeRecoverySpecification{PointInTimeRecoveryEnabled: aws.Bool(true)}}); err != nil {
		t.Fatal(err)
	}
	cb, err := e.c.DescribeContinuousBackups(ctx, &dynamodb.DescribeContinuousBackupsInput{TableName: aws.String("table-2")})
	if err != nil || cb.ContinuousBackupsDescription.PointInTimeRecoveryDescription.PointInTimeRecoveryStatus != types.PointInTimeRecoveryStatusEnabled {
		t.Errorf("DescribeContinuousBackups = %+v, %v", cb, err)
	}
	var tnf *types.TableNotFoundException
	if _, err := e.c.DescribeContinuousBackups(ctx, &dynamodb.DescribeContinuousBackupsInput{TableName: aws.String("nope")}); !errors.As(err, &tnf) {
		t.Errorf("DescribeContinuousBackups of a missing table: %v, want TableNotFoundException", err)
	}
	// The table's tags.
	arn := "arn:aws:dynamodb:us-east-1:123456789012:table/table-2"
	if _, err := e.c.TagResource(ctx, &dynamodb.TagResourceInput{ResourceArn: aws.String(arn), Tags: []types.Tag{{Key: aws.String("app"), Value: aws.String("pushdeploy")}}}); err != nil {
		t.Fatal(err)
	}
	tags, err := e.c.ListTagsOfResource(ctx, &dynamodb.ListTagsOfResourceInput{ResourceArn: aws.String(arn)})
	if err != nil || len(tags.Tags) != 1 {
		t.Errorf("ListTagsOfResource = %+v, %v", tags, err)
	}
}

func TestCreateTableErrors(t *testing.T) {
	e := setup(t)
	def := func(name string, typ types.ScalarAttributeType) types.AttributeDefinition {
		return types.AttributeDefinition{AttributeName: aws.String(name), AttributeType: typ}
	}
	hash := []types.KeySchemaElement{{AttributeName: aws.String("pk"), KeyType: types.KeyTypeHash}}
	tests := []struct {
		name string
		in   dynamodb.CreateTableInput
	}{
		{"undefined key attribute", dynamodb.CreateTableInput{KeySchema: hash, BillingMode: types.BillingModePayPerRequest}},
		{"unused attribute definition", dynamodb.CreateTableInput{KeySchema: hash, BillingMode: types.BillingModePayPerRequest,
			AttributeDefinitions: []types.AttributeDefinition{def("pk", "S"), def("x", "S")}}},
		{"bad attribute type", dynamodb.CreateTableInput{KeySchema: hash, BillingMode: types.BillingModePayPerRequest,
			AttributeDefinitions: []types.AttributeDefinition{def("pk", "BOOL")}}},
		{"range first", dynamodb.CreateTableInput{BillingMode: types.BillingModePayPerRequest,
			KeySchema:            []types.KeySchemaElement{{AttributeName: aws.String("pk"), KeyType: types.KeyTypeRange}},
			AttributeDefinitions: []types.AttributeDefinition{def("pk", "S")}}},
		{"provisioned without throughput", dynamodb.CreateTableInput{KeySchema: hash, AttributeDefinitions: []types.AttributeDefinition{def("pk", "S")}}},
		{"streams", dynamodb.CreateTableInput{KeySchema: hash, BillingMode: types.BillingModePayPerRequest,
			AttributeDefinitions: []types.AttributeDefinition{def("pk", "S")},
			StreamSpecification:  &types.StreamSpecification{StreamEnabled: aws.Bool(true), StreamViewType: types.StreamViewTypeNewImage}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			in := tt.in
			in.TableName = aws.String("bad")
			if _, err := e.c.CreateTable(ctx, &in); code(err) != "ValidationException" {
				t.Errorf("CreateTable: %v, want ValidationException", err)
			}
		})
	}
}

// record exercises every AttributeValue type through attributevalue.
type record struct {
	PK      string            `dynamodbav:"pk"`
	SK      string            `dynamodbav:"sk"`
	Count   int               `dynamodbav:"count"`
	Ratio   float64           `dynamodbav:"ratio"`
	Big     string            `dynamodbav:"big,number"`
	Blob    []byte            `dynamodbav:"blob"`
	OK      bool              `dynamodbav:"ok"`
	Nothing *string           `dynamodbav:"nothing"`
	Labels  map[string]string `dynamodbav:"labels"`
	Steps   []any             `dynamodbav:"steps"`
	Tags    []string          `dynamodbav:"tags,stringset"`
	Nums    []int             `dynamodbav:"nums,numberset"`
	Blobs   [][]byte          `dynamodbav:"blobs,binaryset"`
	Empty   []string          `dynamodbav:"empty"`
}

func TestItemRoundTrip(t *testing.T) {
	e := setup(t)
	e.createTable(t, "tbl")
	in := record{PK: "svc", SK: "deploy#1", Count: 42, Ratio: 0.25, Big: "12345678901234567890123456789012345678", Blob: []byte{0, 1, 2, 255},
		OK: true, Labels: map[string]string{"a": "b", "c": ""}, Steps: []any{"x", 1.5, true, map[string]any{"k": "v"}},
		Tags: []string{"b", "a"}, Nums: []int{3, 1, 2}, Blobs: [][]byte{{1}, {2}}, Empty: []string{}}
	item, err := attributevalue.MarshalMap(in)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := e.c.PutItem(ctx, &dynamodb.PutItemInput{TableName: aws.String("tbl"), Item: item}); err != nil {
		t.Fatal(err)
	}
	out, err := e.c.GetItem(ctx, &dynamodb.GetItemInput{TableName: aws.String("tbl"), Key: key("svc", "deploy#1"), ConsistentRead: aws.Bool(true)})
	if err != nil {
		t.Fatal(err)
	}
	var got record
	if err := attributevalue.UnmarshalMap(out.Item, &got); err != nil {
		t.Fatal(err)
	}
	want := in
	want.Tags = []string{"a", "b"} // sets have no order
	want.Nums = []int{1, 2, 3}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("round trip (-want +got):\n%s", diff)
	}
	if _, ok := out.Item["nothing"].(*types.AttributeValueMemberNULL); !ok {
		t.Errorf("nothing = %#v, want NULL", out.Item["nothing"])
	}

	// Numbers are normalized and compared numerically.
	if _, err := e.c.PutItem(ctx, &dynamodb.PutItemInput{TableName: aws.String("tbl"), Item: map[string]types.AttributeValue{
		"pk": s("n"), "sk": s("1"), "v": n("010.50"), "w": n("1E+3"), "x": n("-0.000")}}); err != nil {
		t.Fatal(err)
	}
	got2, _ := e.c.GetItem(ctx, &dynamodb.GetItemInput{TableName: aws.String("tbl"), Key: key("n", "1")})
	var nums map[string]any
	attributevalue.UnmarshalMapWithOptions(got2.Item, &nums, func(o *attributevalue.DecoderOptions) { o.UseNumber = true })
	for k, want := range map[string]string{"v": "10.5", "w": "1000", "x": "0"} {
		if fmt.Sprint(nums[k]) != want {
			t.Errorf("%s = %v, want %s", k, nums[k], want)
		}
	}
	// Projection keeps nested paths.
	p, err := e.c.GetItem(ctx, &dynamodb.GetItemInput{TableName: aws.String("tbl"), Key: key("svc", "deploy#1"),
		ProjectionExpression: aws.String("labels.a, steps[3].k, #c"), ExpressionAttributeNames: map[string]string{"#c": "count"}})
	if err != nil {
		t.Fatal(err)
	}
	var proj map[string]any
	attributevalue.UnmarshalMap(p.Item, &proj)
	wantProj := map[string]any{"labels": map[string]any{"a": "b"}, "steps": []any{map[string]any{"k": "v"}}, "count": float64(42)}
	if diff := cmp.Diff(wantProj, proj); diff != "" {
		t.Errorf("projection (-want +got):\n%s", diff)
	}
	// A missing item is no Item.
	miss, err := e.c.GetItem(ctx, &dynamodb.GetItemInput{TableName: aws.String("tbl"), Key: key("nope", "nope")})
	if err != nil || miss.Item != nil {
		t.Errorf("missing item: %v, %v", miss.Item, err)
	}
}

func TestItemValidation(t *testing.T) {
	e := setup(t)
	e.createTable(t, "tbl")
	tests := []struct {
		name string
		item map[string]types.AttributeValue
	}{
		{"missing range key", map[string]types.AttributeValue{"pk": s("a")}},
		{"key type mismatch", map[string]types.AttributeValue{"pk": n("1"), "sk": s("a")}},
		{"empty key", map[string]types.AttributeValue{"pk": s(""), "sk": s("a")}},
		{"index key type", map[string]types.AttributeValue{"pk": s("a"), "sk": s("a"), "at": s("x")}},
		{"bad number", map[string]types.AttributeValue{"pk": s("a"), "sk": s("a"), "v": n("12abc")}},
		{"too many digits", map[string]types.AttributeValue{"pk": s("a"), "sk": s("a"), "v": n("1234567890123456789012345678901234567890")}},
		{"empty set", map[string]types.AttributeValue{"pk": s("a"), "sk": s("a"), "v": &types.AttributeValueMemberSS{Value: []string{}}}},
		{"duplicate set", map[string]types.AttributeValue{"pk": s("a"), "sk": s("a"), "v": &types.AttributeValueMemberSS{Value: []string{"x", "x"}}}},
		{"too big", map[string]types.AttributeValue{"pk": s("a"), "sk": s("a"), "v": s(strings.Repeat("x", 410*1024))}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := e.c.PutItem(ctx, &dynamodb.PutItemInput{TableName: aws.String("tbl"), Item: tt.item})
			if code(err) != "ValidationException" {
				t.Errorf("PutItem: %v, want ValidationException", err)
			}
		})
	}
	_, err := e.c.GetItem(ctx, &dynamodb.GetItemInput{TableName: aws.String("tbl"), Key: map[string]types.AttributeValue{"pk": s("a")}})
	if code(err) != "ValidationException" {
		t.Errorf("GetItem with half a key: %v, want ValidationException", err)
	}
	_, err = e.c.PutItem(ctx, &dynamodb.PutItemInput{TableName: aws.String("tbl"), Item: key("a", "b"),
		Expected: map[string]types.ExpectedAttributeValue{"pk": {Exists: aws.Bool(false)}}})
	if code(err) != "ValidationException" || !strings.Contains(err.Error(), "Expected") {
		t.Errorf("legacy Expected: %v, want ValidationException naming it", err)
	}
}

func TestConditionalWrites(t *testing.T) {
	e := setup(t)
	e.createTable(t, "tbl")
	lease := map[string]types.AttributeValue{"pk": s("svc"), "sk": s("lease"), "owner": s("exec-1"), "leaseEnd": n("100")}
	put := func(item map[string]types.AttributeValue, cond string, vals map[string]types.AttributeValue) error {
		in := &dynamodb.PutItemInput{TableName: aws.String("tbl"), Item: item, ReturnValuesOnConditionCheckFailure: types.ReturnValuesOnConditionCheckFailureAllOld}
		if cond != "" {
			in.ConditionExpression = aws.String(cond)
			in.ExpressionAttributeValues = vals
		}
		_, err := e.c.PutItem(ctx, in)
		return err
	}
	if err := put(lease, "attribute_not_exists(pk)", nil); err != nil {
		t.Fatal(err)
	}
	err := put(map[string]types.AttributeValue{"pk": s("svc"), "sk": s("lease"), "owner": s("exec-2"), "leaseEnd": n("200")},
		"attribute_not_exists(pk) OR #u < :now", nil)
	if code(err) != "ValidationException" {
		t.Errorf("undefined #u: %v, want ValidationException", err)
	}
	err = put(map[string]types.AttributeValue{"pk": s("svc"), "sk": s("lease"), "owner": s("exec-2")},
		"attribute_not_exists(pk) OR leaseEnd < :now", map[string]types.AttributeValue{":now": n("50")})
	var ccf *types.ConditionalCheckFailedException
	if !errors.As(err, &ccf) {
		t.Fatalf("taken lease: %v, want ConditionalCheckFailedException", err)
	}
	var old map[string]any
	attributevalue.UnmarshalMap(ccf.Item, &old)
	if old["owner"] != "exec-1" {
		t.Errorf("ConditionalCheckFailedException.Item = %v, want the current lease", old)
	}
	if err := put(map[string]types.AttributeValue{"pk": s("svc"), "sk": s("lease"), "owner": s("exec-2"), "leaseEnd": n("300")},
		"attribute_not_exists(pk) OR leaseEnd < :now", map[string]types.AttributeValue{":now": n("150")}); err != nil {
		t.Errorf("expired lease: %v", err)
	}
	// PutItem ALL_OLD returns the replaced item.
	out, err := e.c.PutItem(ctx, &dynamodb.PutItemInput{TableName: aws.String("tbl"), Item: key("svc", "lease"), ReturnValues: types.ReturnValueAllOld})
	if err != nil || out.Attributes["owner"].(*types.AttributeValueMemberS).Value != "exec-2" {
		t.Errorf("PutItem ALL_OLD = %v, %v", out.Attributes, err)
	}
	// DeleteItem with a failing then passing condition.
	_, err = e.c.DeleteItem(ctx, &dynamodb.DeleteItemInput{TableName: aws.String("tbl"), Key: key("svc", "lease"),
		ConditionExpression: aws.String("attribute_exists(#o)"), ExpressionAttributeNames: map[string]string{"#o": "owner"}})
	if !errors.As(err, &ccf) {
		t.Errorf("DeleteItem condition: %v, want ConditionalCheckFailedException", err)
	}
	del, err := e.c.DeleteItem(ctx, &dynamodb.DeleteItemInput{TableName: aws.String("tbl"), Key: key("svc", "lease"),
		ConditionExpression: aws.String("attribute_not_exists(#o)"), ExpressionAttributeNames: map[string]string{"#o": "owner"}, ReturnValues: types.ReturnValueAllOld})
	if err != nil || del.Attributes["pk"] == nil {
		t.Errorf("DeleteItem = %v, %v", del, err)
	}
	if g, _ := e.c.GetItem(ctx, &dynamodb.GetItemInput{TableName: aws.String("tbl"), Key: key("svc", "lease")}); g.Item != nil {
		t.Errorf("item still there after DeleteItem: %v", g.Item)
	}
	// Unused expression values are rejected, as on AWS.
	_, err = e.c.PutItem(ctx, &dynamodb.PutItemInput{TableName: aws.String("tbl"), Item: key("a", "b"),
		ConditionExpression: aws.String("attribute_not_exists(pk)"), ExpressionAttributeValues: map[string]types.AttributeValue{":x": s("1")}})
	if code(err) != "ValidationException" || !strings.Contains(err.Error(), "unused") {
		t.Errorf("unused value: %v, want ValidationException", err)
	}
}

// item builds an item from a Go map through attributevalue.
func item(t *testing.T, m map[string]any) map[string]types.AttributeValue {
	t.Helper()
	av, err := attributevalue.MarshalMap(m)
	if err != nil {
		t.Fatal(err)
	}
	return av
}

func plain(t *testing.T, av map[string]types.AttributeValue) map[string]any {
	t.Helper()
	var m map[string]any
	if err := attributevalue.UnmarshalMap(av, &m); err != nil {
		t.Fatal(err)
	}
	return m
}

func TestUpdateExpressions(t *testing.T) {
	e := setup(t)
	e.createTable(t, "tbl")
	base := map[string]any{"pk": "p", "sk": "s", "n": 5, "name": "a", "lst": []any{"x", "y", "z"},
		"m": map[string]any{"a": 1, "b": map[string]any{"c": "d"}}}
	ss := func(v ...string) types.AttributeValue { return &types.AttributeValueMemberSS{Value: v} }
	tests := []struct {
		name   string
		expr   string
		names  map[string]string
		values map[string]types.AttributeValue
		want   map[string]any // changed attributes against base; nil value removes
	}{
		{"set value", "SET v = :v", nil, map[string]types.AttributeValue{":v": s("new")}, map[string]any{"v": "new"}},
		{"set plus", "SET n = n + :one", nil, map[string]types.AttributeValue{":one": n("1")}, map[string]any{"n": float64(6)}},
		{"set minus decimal", "SET n = n - :d", nil, map[string]types.AttributeValue{":d": n("0.5")}, map[string]any{"n": 4.5}},
		{"reserved name via #", "SET #n = :v", map[string]string{"#n": "name"}, map[string]types.AttributeValue{":v": s("b")}, map[string]any{"name": "b"}},
		{"if_not_exists missing", "SET c = if_not_exists(c, :z) + :one", nil, map[string]types.AttributeValue{":z": n("0"), ":one": n("1")}, map[string]any{"c": float64(1)}},
		{"if_not_exists present", "SET n = if_not_exists(n, :z)", nil, map[string]types.AttributeValue{":z": n("0")}, map[string]any{}},
		{"list_append", "SET lst = list_append(lst, :l)", nil, map[string]types.AttributeValue{":l": &types.AttributeValueMemberL{Value: []types.AttributeValue{s("w")}}},
			map[string]any{"lst": []any{"x", "y", "z", "w"}}},
		{"list_append front", "SET lst = list_append(:l, lst)", nil, map[string]types.AttributeValue{":l": &types.AttributeValueMemberL{Value: []types.AttributeValue{s("w")}}},
			map[string]any{"lst": []any{"w", "x", "y", "z"}}},
		{"nested set", "SET m.b.c = :v, m.e = :v", nil, map[string]types.AttributeValue{":v": s("q")},
			map[string]any{"m": map[string]any{"a": float64(1), "e": "q", "b": map[string]any{"c": "q"}}}},
		{"lst index set", "SET lst[1] = :v", nil, map[string]types.AttributeValue{":v": s("Y")}, map[string]any{"lst": []any{"x", "Y", "z"}}},
		{"lst index past end appends", "SET lst[10] = :v", nil, map[string]types.AttributeValue{":v": s("end")}, map[string]any{"lst": []any{"x", "y", "z", "end"}}},
		{"copy attribute", "SET cp = m.b", nil, nil, map[string]any{"cp": map[string]any{"c": "d"}}},
		{"remove", "REMOVE #n, m.a, lst[0], lst[2]", map[string]string{"#n": "name"}, nil,
			map[string]any{"name": nil, "m": map[string]any{"b": map[string]any{"c": "d"}}, "lst": []any{"y"}}},
		{"add number", "ADD n :v", nil, map[string]types.AttributeValue{":v": n("-7")}, map[string]any{"n": float64(-2)}},
		{"add new number", "ADD hits :v", nil, map[string]types.AttributeValue{":v": n("1")}, map[string]any{"hits": float64(1)}},
		{"add set", "ADD tags :v", nil, map[string]types.AttributeValue{":v": ss("a", "b")}, map[string]any{"tags": []string{"a", "b"}}},
		{"all clauses", "SET a = :v REMOVE lst ADD n :one", nil, map[string]types.AttributeValue{":v": s("1"), ":one": n("1")},
			map[string]any{"a": "1", "lst": nil, "n": float64(6)}},
		{"lower-case keywords", "set a = :v remove lst", nil, map[string]types.AttributeValue{":v": s("1")}, map[string]any{"a": "1", "lst": nil}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if _, err := e.c.PutItem(ctx, &dynamodb.PutItemInput{TableName: aws.String("tbl"), Item: item(t, base)}); err != nil {
				t.Fatal(err)
			}
			out, err := e.c.UpdateItem(ctx, &dynamodb.UpdateItemInput{TableName: aws.String("tbl"), Key: key("p", "s"),
				UpdateExpression: aws.String(tt.expr), ExpressionAttributeNames: tt.names, ExpressionAttributeValues: tt.values,
				ReturnValues: types.ReturnValueAllNew})
			if err != nil {
				t.Fatal(err)
			}
			want := plain(t, item(t, base))
			for k, v := range tt.want {
				if v == nil {
					delete(want, k)
				} else {
					want[k] = v
				}
			}
			if diff := cmp.Diff(want, plain(t, out.Attributes)); diff != "" {
				t.Errorf("ALL_NEW (-want +got):\n%s", diff)
			}
		})
	}
	// DELETE from a set, to empty (the attribute goes).
	e.c.PutItem(ctx, &dynamodb.PutItemInput{TableName: aws.String("tbl"), Item: map[string]types.AttributeValue{"pk": s("p"), "sk": s("s"), "tags": ss("a", "b")}})
	out, err := e.c.UpdateItem(ctx, &dynamodb.UpdateItemInput{TableName: aws.String("tbl"), Key: key("p", "s"), UpdateExpression: aws.String("DELETE tags :a"),
		ExpressionAttributeValues: map[string]types.AttributeValue{":a": ss("a")}, ReturnValues: types.ReturnValueUpdatedNew})
	if err != nil || !cmp.Equal(plain(t, out.Attributes), map[string]any{"tags": []string{"b"}}) {
		t.Errorf("DELETE a = %v, %v", out.Attributes, err)
	}
	out, err = e.c.UpdateItem(ctx, &dynamodb.UpdateItemInput{TableName: aws.String("tbl"), Key: key("p", "s"), UpdateExpression: aws.String("DELETE tags :b"),
		ExpressionAttributeValues: map[string]types.AttributeValue{":b": ss("b")}, ReturnValues: types.ReturnValueUpdatedOld})
	if err != nil || !cmp.Equal(plain(t, out.Attributes), map[string]any{"tags": []string{"b"}}) {
		t.Errorf("DELETE b UPDATED_OLD = %v, %v", out.Attributes, err)
	}
	g, _ := e.c.GetItem(ctx, &dynamodb.GetItemInput{TableName: aws.String("tbl"), Key: key("p", "s")})
	if _, ok := g.Item["tags"]; ok {
		t.Errorf("emptied set still there: %v", g.Item)
	}
	// UpdateItem on a missing item creates it; with a condition it fails.
	out, err = e.c.UpdateItem(ctx, &dynamodb.UpdateItemInput{TableName: aws.String("tbl"), Key: key("new", "s"), UpdateExpression: aws.String("ADD hits :one"),
		ExpressionAttributeValues: map[string]types.AttributeValue{":one": n("1")}, ReturnValues: types.ReturnValueAllNew})
	if err != nil || !cmp.Equal(plain(t, out.Attributes), map[string]any{"pk": "new", "sk": "s", "hits": float64(1)}) {
		t.Errorf("upsert = %v, %v", out.Attributes, err)
	}
	_, err = e.c.UpdateItem(ctx, &dynamodb.UpdateItemInput{TableName: aws.String("tbl"), Key: key("other", "s"), UpdateExpression: aws.String("SET a = :v"),
		ConditionExpression: aws.String("attribute_exists(pk)"), ExpressionAttributeValues: map[string]types.AttributeValue{":v": n("1")}})
	var ccf *types.ConditionalCheckFailedException
	if !errors.As(err, &ccf) {
		t.Errorf("conditional update of a missing item: %v, want ConditionalCheckFailedException", err)
	}
}

func TestExpressionErrors(t *testing.T) {
	e := setup(t)
	e.createTable(t, "tbl")
	e.c.PutItem(ctx, &dynamodb.PutItemInput{TableName: aws.String("tbl"), Item: map[string]types.AttributeValue{"pk": s("p"), "sk": s("s"), "n": s("text"), "l": &types.AttributeValueMemberL{}}})
	v := map[string]types.AttributeValue{":v": n("1")}
	tests := []struct {
		name, update, cond string
		names              map[string]string
		values             map[string]types.AttributeValue
		want               string
	}{
		{"syntax", "SET a = ", "", nil, nil, "Syntax error"},
		{"reserved word", "SET status = :v", "", nil, v, "reserved keyword; reserved keyword: status"},
		{"undefined value", "SET a = :nope", "", nil, v, "not defined; attribute value: :nope"},
		{"undefined name", "SET #a = :v", "", nil, v, "attribute name: #a"},
		{"unused name", "SET a = :v", "", map[string]string{"#x": "x"}, v, "unused in expressions: keys: {#x}"},
		{"section twice", "SET a = :v SET b = :v", "", nil, v, "can only be used once"},
		{"overlapping paths", "SET a = :v, a.b = :v", "", nil, v, "overlap"},
		{"unknown function", "SET a = concat(:v, :v)", "", nil, v, "Invalid function name; function: concat"},
		{"condition function in update", "SET a = size(b)", "", nil, nil, "not allowed"},
		{"key attribute", "SET pk = :v", "", nil, map[string]types.AttributeValue{":v": s("x")}, "part of the key"},
		{"arithmetic on a string", "SET n = n + :v", "", nil, v, "incorrect data type"},
		{"arithmetic on a missing attribute", "SET x = nope + :v", "", nil, v, "does not exist"},
		{"nested path under a missing map", "SET m.a = :v", "", nil, v, "document path provided in the update expression is invalid"},
		{"ADD a string", "ADD a :v", "", nil, map[string]types.AttributeValue{":v": s("x")}, "operand type"},
		{"ADD nested", "ADD l.x :v", "", nil, v, "top-level"},
		{"empty update", " ", "", nil, nil, "can not be empty"},
		{"bad condition syntax", "SET a = :v", "a = = :v", nil, v, "Syntax error"},
		{"condition unknown function", "SET a = :v", "exists(a)", nil, v, "Invalid function name"},
		{"condition reserved", "SET a = :v", "size > :v", nil, v, "reserved keyword"},
		{"between bounds", "SET a = :v", "a BETWEEN :hi AND :lo", nil, map[string]types.AttributeValue{":v": n("1"), ":lo": n("1"), ":hi": n("2")}, "BETWEEN"},
		{"order on a bool", "SET a = :v", "a < :b", nil, map[string]types.AttributeValue{":v": n("1"), ":b": &types.AttributeValueMemberBOOL{Value: true}}, "operand type: BOOL"},
		{"attribute_type bad type", "SET a = :v", "attribute_type(a, :t)", nil, map[string]types.AttributeValue{":v": n("1"), ":t": s("STRING")}, "Invalid attribute type name"},
		{"bad character", "SET a = :v", "a ! :v", nil, v, "Invalid character"},
		{"unbalanced paren", "SET a = :v", "(a = :v", nil, v, "Syntax error"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			in := &dynamodb.UpdateItemInput{TableName: aws.String("tbl"), Key: key("p", "s"), UpdateExpression: aws.String(tt.update),
				ExpressionAttributeNames: tt.names, ExpressionAttributeValues: tt.values}
			if tt.cond != "" {
				in.ConditionExpression = aws.String(tt.cond)
			}
			_, err := e.c.UpdateItem(ctx, in)
			if code(err) != "ValidationException" || !strings.Contains(err.Error(), tt.want) {
				t.Errorf("UpdateItem: %v\nwant ValidationException containing %q", err, tt.want)
			}
		})
	}
}

func TestConditionExpressions(t *testing.T) {
	e := setup(t)
	e.createTable(t, "tbl")
	it := item(t, map[string]any{"pk": "p", "sk": "s", "n": 10, "f": 2.5, "name": "deploy-web", "b": []byte("abc"), "ok": true, "nil": nil,
		"lst": []any{"a", 2}, "m": map[string]any{"x": "y", "deep": map[string]any{"z": 1}}})
	it["tags"] = &types.AttributeValueMemberSS{Value: []string{"blue", "green"}}
	it["nums"] = &types.AttributeValueMemberNS{Value: []string{"1", "2"}}
	if _, err := e.c.PutItem(ctx, &dynamodb.PutItemInput{TableName: aws.String("tbl"), Item: it}); err != nil {
		t.Fatal(err)
	}
	vals := map[string]types.AttributeValue{":n10": n("10"), ":n9": n("9.99"), ":n100": n("100"), ":s": s("deploy-"), ":green": s("green"),
		":one": n("1"), ":two": n("2"), ":a": s("a"), ":three": n("3"), ":S": s("S"), ":SS": s("SS"), ":NULL": s("NULL"), ":ab": &types.AttributeValueMemberB{Value: []byte("ab")},
		":t": &types.AttributeValueMemberBOOL{Value: true}, ":y": s("y")}
	tests := []struct {
		cond string
		want bool
	}{
		{"n = :n10", true},
		{"n <> :n10", false},
		{"n > :n9", true},
		{"n >= :n10", true},
		{"n < :n9", false},
		{"n <= :n100", true},
		{"n = :s", false},
		{"n <> :s", true},
		{"n BETWEEN :n9 AND :n100", true},
		{"n BETWEEN :one AND :two", false},
		{"n IN (:one, :n10)", true},
		{"n IN (:one, :two)", false},
		{"begins_with(#name, :s)", true},
		{"begins_with(b, :ab)", true},
		{"contains(#name, :s)", true},
		{"contains(tags, :green)", true},
		{"contains(tags, :a)", false},
		{"contains(nums, :two)", true},
		{"contains(lst, :a)", true},
		{"contains(lst, :two)", true},
		{"size(#name) = :n10", true},
		{"size(tags) = :two", true},
		{"size(lst) > :one", true},
		{"size(m) = :two", true},
		{"attribute_exists(m.deep.z)", true},
		{"attribute_exists(m.nope)", false},
		{"attribute_not_exists(nope)", true},
		{"attribute_exists(lst[1])", true},
		{"attribute_exists(lst[2])", false},
		{"lst[1] = :two", true},
		{"m.x = :y", true},
		{"attribute_type(#name, :S)", true},
		{"attribute_type(tags, :SS)", true},
		{"attribute_type(#nil, :NULL)", true},
		{"ok = :t", true},
		{"NOT ok = :t", false},
		{"n = :one OR n = :n10", true},
		{"n = :one AND n = :n10", false},
		{"n = :n10 OR n = :one AND f = :one", true}, // AND binds tighter than OR
		{"NOT n = :one AND n = :one", false},        // NOT binds tighter than AND
		{"(n = :one OR n = :n10) AND NOT f = :one", true},
		{"NOT (n = :one OR n = :two)", true},
		{"nope = :one", false},
		{"nope <> :one", false},
		{"f > :two AND f < :three", true},
	}
	for _, tt := range tests {
		t.Run(tt.cond, func(t *testing.T) {
			// Send only the values the expression names: AWS rejects unused ones.
			var used map[string]types.AttributeValue
			for k, v := range vals {
				if containsToken(tt.cond, k) {
					if used == nil {
						used = map[string]types.AttributeValue{}
					}
					used[k] = v
				}
			}
			names := map[string]string{}
			for _, nm := range []string{"#name", "#nil"} {
				if strings.Contains(tt.cond, nm) {
					names[nm] = nm[1:]
				}
			}
			if len(names) == 0 {
				names = nil
			}
			out, err := e.c.Scan(ctx, &dynamodb.ScanInput{TableName: aws.String("tbl"), FilterExpression: aws.String(tt.cond),
				ExpressionAttributeNames: names, ExpressionAttributeValues: used})
			if err != nil {
				t.Fatal(err)
			}
			if got := out.Count == 1; got != tt.want {
				t.Errorf("%s = %v, want %v", tt.cond, got, tt.want)
			}
		})
	}
}

// containsToken reports whether expr uses the placeholder tok as a whole token.
func containsToken(expr, tok string) bool {
	for i := 0; ; {
		j := strings.Index(expr[i:], tok)
		if j < 0 {
			return false
		}
		end := i + j + len(tok)
		if end == len(expr) || !isWord(expr[end]) {
			return true
		}
		i = end
	}
}

func isWord(c byte) bool {
	return c == '_' || c >= '0' && c <= '9' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z'
}

func TestQuery(t *testing.T) {
	e := setup(t)
	_, err := e.c.CreateTable(ctx, &dynamodb.CreateTableInput{TableName: aws.String("hist"),
		AttributeDefinitions: []types.AttributeDefinition{{AttributeName: aws.String("svc"), AttributeType: types.ScalarAttributeTypeS},
			{AttributeName: aws.String("seq"), AttributeType: types.ScalarAttributeTypeN}},
		KeySchema: []types.KeySchemaElement{{AttributeName: aws.String("svc"), KeyType: types.KeyTypeHash},
			{AttributeName: aws.String("seq"), KeyType: types.KeyTypeRange}},
		BillingMode: types.BillingModePayPerRequest})
	if err != nil {
		t.Fatal(err)
	}
	for i := 1; i <= 25; i++ {
		for _, svc := range []string{"web", "api"} {
			it := item(t, map[string]any{"svc": svc, "seq": i, "status": []string{"SUCCEEDED", "ROLLED_BACK"}[i%2], "detail": fmt.Sprint("d", i)})
			if _, err := e.c.PutItem(ctx, &dynamodb.PutItemInput{TableName: aws.String("hist"), Item: it}); err != nil {
				t.Fatal(err)
			}
		}
	}
	query := func(in dynamodb.QueryInput) ([]float64, int) {
		t.Helper()
		in.TableName = aws.String("hist")
		p := dynamodb.NewQueryPaginator(e.c, &in)
		var seqs []float64
		pages := 0
		for p.HasMorePages() {
			out, err := p.NextPage(ctx)
			if err != nil {
				t.Fatal(err)
			}
			pages++
			for _, it := range out.Items {
				seqs = append(seqs, plain(t, it)["seq"].(float64))
			}
		}
		return seqs, pages
	}
	web := map[string]types.AttributeValue{":svc": s("web")}
	with := func(extra map[string]types.AttributeValue) map[string]types.AttributeValue {
		m := map[string]types.AttributeValue{":svc": s("web")}
		for k, v := range extra {
			m[k] = v
		}
		return m
	}
	seqs, pages := query(dynamodb.QueryInput{KeyConditionExpression: aws.String("svc = :svc"), ExpressionAttributeValues: web, Limit: aws.Int32(4)})
	if len(seqs) != 25 || seqs[0] != 1 || seqs[9] != 10 || seqs[24] != 25 || pages != 7 {
		t.Errorf("forward query: %v in %d pages, want 1..25 (numeric order) in 7", seqs, pages)
	}
	seqs, _ = query(dynamodb.QueryInput{KeyConditionExpression: aws.String("svc = :svc AND seq > :x"), ExpressionAttributeValues: with(map[string]types.AttributeValue{":x": n("20")}),
		ScanIndexForward: aws.Bool(false), Limit: aws.Int32(2)})
	if diff := cmp.Diff([]float64{25, 24, 23, 22, 21}, seqs); diff != "" {
		t.Errorf("backward query (-want +got):\n%s", diff)
	}
	seqs, _ = query(dynamodb.QueryInput{KeyConditionExpression: aws.String("seq BETWEEN :a AND :b AND svc = :svc"),
		ExpressionAttributeValues: with(map[string]types.AttributeValue{":a": n("3"), ":b": n("6")})})
	if diff := cmp.Diff([]float64{3, 4, 5, 6}, seqs); diff != "" {
		t.Errorf("BETWEEN (-want +got):\n%s", diff)
	}
	for op, want := range map[string]int{"<": 4, "<=": 5, ">=": 21, "=": 1} {
		seqs, _ = query(dynamodb.QueryInput{KeyConditionExpression: aws.String("svc = :svc AND seq " + op + " :x"),
			ExpressionAttributeValues: with(map[string]types.AttributeValue{":x": n("5")})})
		if len(seqs) != want {
			t.Errorf("seq %s 5: %d items, want %d", op, len(seqs), want)
		}
	}
	// Filter after Limit: pages may be short, the total is right.
	seqs, _ = query(dynamodb.QueryInput{KeyConditionExpression: aws.String("svc = :svc"), FilterExpression: aws.String("#st = :st"),
		ExpressionAttributeNames: map[string]string{"#st": "status"}, ExpressionAttributeValues: with(map[string]types.AttributeValue{":st": s("SUCCEEDED")}), Limit: aws.Int32(3)})
	if len(seqs) != 12 || seqs[0] != 2 {
		t.Errorf("filtered query: %v, want the 12 even seqs", seqs)
	}
	out, err := e.c.Query(ctx, &dynamodb.QueryInput{TableName: aws.String("hist"), KeyConditionExpression: aws.String("svc = :svc"), ExpressionAttributeValues: web,
		ProjectionExpression: aws.String("seq"), Limit: aws.Int32(1)})
	if err != nil || len(out.Items) != 1 || len(out.Items[0]) != 1 || out.LastEvaluatedKey["svc"] == nil || out.Count != 1 || out.ScannedCount != 1 {
		t.Errorf("projected query = %+v, %v", out, err)
	}
	cnt, err := e.c.Query(ctx, &dynamodb.QueryInput{TableName: aws.String("hist"), KeyConditionExpression: aws.String("svc = :svc"), ExpressionAttributeValues: web,
		Select: types.SelectCount})
	if err != nil || cnt.Count != 25 || cnt.Items != nil {
		t.Errorf("COUNT query = %d items %v, %v", cnt.Count, cnt.Items, err)
	}
	errs := []struct {
		name, kc, filter string
		values           map[string]types.AttributeValue
	}{
		{"no hash", "seq = :x", "", map[string]types.AttributeValue{":x": n("1")}},
		{"OR", "svc = :svc OR seq = :x", "", with(map[string]types.AttributeValue{":x": n("1")})},
		{"non-key", "svc = :svc AND detail = :x", "", with(map[string]types.AttributeValue{":x": s("1")})},
		{"hash range op", "svc > :svc", "", web},
		{"type mismatch", "svc = :svc AND seq = :x", "", with(map[string]types.AttributeValue{":x": s("1")})},
		{"two range conditions", "svc = :svc AND seq > :x AND seq < :x", "", with(map[string]types.AttributeValue{":x": n("1")})},
		{"filter on key", "svc = :svc", "seq = :x", with(map[string]types.AttributeValue{":x": n("1")})},
		{"unsupported function", "svc = :svc AND contains(seq, :x)", "", with(map[string]types.AttributeValue{":x": n("1")})},
	}
	for _, tt := range errs {
		in := &dynamodb.QueryInput{TableName: aws.String("hist"), KeyConditionExpression: aws.String(tt.kc), ExpressionAttributeValues: tt.values}
		if tt.filter != "" {
			in.FilterExpression = aws.String(tt.filter)
		}
		if _, err := e.c.Query(ctx, in); code(err) != "ValidationException" {
			t.Errorf("%s: %v, want ValidationException", tt.name, err)
		}
	}
}

func TestQueryIndexAndBeginsWith(t *testing.T) {
	e := setup(t)
	e.createTable(t, "tbl")
	for i, sk := range []string{"deploy#001", "deploy#002", "lease", "deploy#003", "note"} {
		it := item(t, map[string]any{"pk": "web", "sk": sk, "state": []string{"OPEN", "DONE"}[i%2], "at": 100 - i, "extra": "x"})
		if _, err := e.c.PutItem(ctx, &dynamodb.PutItemInput{TableName: aws.String("tbl"), Item: it}); err != nil {
			t.Fatal(err)
		}
	}
	out, err := e.c.Query(ctx, &dynamodb.QueryInput{TableName: aws.String("tbl"), KeyConditionExpression: aws.String("pk = :p AND begins_with(sk, :d)"),
		ExpressionAttributeValues: map[string]types.AttributeValue{":p": s("web"), ":d": s("deploy#")}})
	if err != nil || out.Count != 3 {
		t.Fatalf("begins_with: %d, %v", out.Count, err)
	}
	// The KEYS_ONLY GSI returns keys only, ordered by its range key.
	ix, err := e.c.Query(ctx, &dynamodb.QueryInput{TableName: aws.String("tbl"), IndexName: aws.String("byState"),
		KeyConditionExpression: aws.String("#s = :s"), ExpressionAttributeNames: map[string]string{"#s": "state"},
		ExpressionAttributeValues: map[string]types.AttributeValue{":s": s("OPEN")}, Limit: aws.Int32(2)})
	if err != nil {
		t.Fatal(err)
	}
	var got []map[string]any
	for _, it := range ix.Items {
		got = append(got, plain(t, it))
	}
	want := []map[string]any{
		{"pk": "web", "sk": "note", "state": "OPEN", "at": float64(96)},
		{"pk": "web", "sk": "lease", "state": "OPEN", "at": float64(98)},
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("GSI query (-want +got):\n%s", diff)
	}
	if len(ix.LastEvaluatedKey) != 4 {
		t.Errorf("GSI LastEvaluatedKey = %v, want table and index keys", plain(t, ix.LastEvaluatedKey))
	}
	next, err := e.c.Query(ctx, &dynamodb.QueryInput{TableName: aws.String("tbl"), IndexName: aws.String("byState"),
		KeyConditionExpression: aws.String("#s = :s"), ExpressionAttributeNames: map[string]string{"#s": "state"},
		ExpressionAttributeValues: map[string]types.AttributeValue{":s": s("OPEN")}, ExclusiveStartKey: ix.LastEvaluatedKey})
	if err != nil || next.Count != 1 || plain(t, next.Items[0])["sk"] != "deploy#001" {
		t.Errorf("GSI second page = %+v, %v", next, err)
	}
	_, err = e.c.Query(ctx, &dynamodb.QueryInput{TableName: aws.String("tbl"), IndexName: aws.String("byState"), ConsistentRead: aws.Bool(true),
		KeyConditionExpression: aws.String("#s = :s"), ExpressionAttributeNames: map[string]string{"#s": "state"},
		ExpressionAttributeValues: map[string]types.AttributeValue{":s": s("OPEN")}})
	if code(err) != "ValidationException" {
		t.Errorf("consistent read on a GSI: %v, want ValidationException", err)
	}
}

func TestScan(t *testing.T) {
	e := setup(t)
	e.createTable(t, "tbl")
	for i := range 30 {
		if _, err := e.c.PutItem(ctx, &dynamodb.PutItemInput{TableName: aws.String("tbl"), Item: key(fmt.Sprint("p", i%7), fmt.Sprint("s", i))}); err != nil {
			t.Fatal(err)
		}
	}
	seen := map[string]bool{}
	p := dynamodb.NewScanPaginator(e.c, &dynamodb.ScanInput{TableName: aws.String("tbl"), Limit: aws.Int32(4)})
	for p.HasMorePages() {
		out, err := p.NextPage(ctx)
		if err != nil {
			t.Fatal(err)
		}
		for _, it := range out.Items {
			k := plain(t, it)
			id := fmt.Sprint(k["pk"], "/", k["sk"])
			if seen[id] {
				t.Errorf("scan returned %s twice", id)
			}
			seen[id] = true
		}
	}
	if len(seen) != 30 {
		t.Errorf("paginated scan saw %d items, want 30", len(seen))
	}
	total := 0
	for seg := range 3 {
		out, err := e.c.Scan(ctx, &dynamodb.ScanInput{TableName: aws.String("tbl"), Segment: aws.Int32(int32(seg)), TotalSegments: aws.Int32(3)})
		if err != nil {
			t.Fatal(err)
		}
		total += int(out.Count)
	}
	if total != 30 {
		t.Errorf("3 segments saw %d items, want 30", total)
	}
}

func TestTTL(t *testing.T) {
	e := setup(t)
	e.createTable(t, "tbl")
	d, err := e.c.DescribeTimeToLive(ctx, &dynamodb.DescribeTimeToLiveInput{TableName: aws.String("tbl")})
	if err != nil || d.TimeToLiveDescription.TimeToLiveStatus != types.TimeToLiveStatusDisabled {
		t.Fatalf("DescribeTimeToLive = %+v, %v", d, err)
	}
	if _, err := e.c.UpdateTimeToLive(ctx, &dynamodb.UpdateTimeToLiveInput{TableName: aws.String("tbl"),
		TimeToLiveSpecification: &types.TimeToLiveSpecification{AttributeName: aws.String("expiresAt"), Enabled: aws.Bool(true)}}); err != nil {
		t.Fatal(err)
	}
	d, _ = e.c.DescribeTimeToLive(ctx, &dynamodb.DescribeTimeToLiveInput{TableName: aws.String("tbl")})
	if d.TimeToLiveDescription.TimeToLiveStatus != types.TimeToLiveStatusEnabled || aws.ToString(d.TimeToLiveDescription.AttributeName) != "expiresAt" {
		t.Errorf("after enabling: %+v", d.TimeToLiveDescription)
	}
	_, err = e.c.UpdateTimeToLive(ctx, &dynamodb.UpdateTimeToLiveInput{TableName: aws.String("tbl"),
		TimeToLiveSpecification: &types.TimeToLiveSpecification{AttributeName: aws.String("expiresAt"), Enabled: aws.Bool(true)}})
	if code(err) != "ValidationException" {
		t.Errorf("enabling twice: %v, want ValidationException", err)
	}
	exp := fmt.Sprint(start.Add(time.Hour).Unix())
	for _, sk := range []string{"a", "b", "c"} {
		it := map[string]types.AttributeValue{"pk": s("svc"), "sk": s(sk), "expiresAt": n(exp)}
		switch sk {
		case "b":
			it["expiresAt"] = s("not a number: never expires")
		case "c":
			it["expiresAt"] = n("3600") // 1970: more than five years past, never deleted
		}
		if _, err := e.c.PutItem(ctx, &dynamodb.PutItemInput{TableName: aws.String("tbl"), Item: it}); err != nil {
			t.Fatal(err)
		}
	}
	count := func() int32 {
		out, err := e.c.Query(ctx, &dynamodb.QueryInput{TableName: aws.String("tbl"), KeyConditionExpression: aws.String("pk = :p"),
			ExpressionAttributeValues: map[string]types.AttributeValue{":p": s("svc")}})
		if err != nil {
			t.Fatal(err)
		}
		return out.Count
	}
	e.clk.Advance(59 * time.Minute)
	if got, err := e.c.GetItem(ctx, &dynamodb.GetItemInput{TableName: aws.String("tbl"), Key: key("svc", "a")}); err != nil || got.Item == nil {
		t.Errorf("before expiry: %v, %v", got, err)
	}
	if c := count(); c != 3 {
		t.Errorf("before expiry Query counts %d, want 3", c)
	}
	e.clk.Advance(time.Minute)
	if got, err := e.c.GetItem(ctx, &dynamodb.GetItemInput{TableName: aws.String("tbl"), Key: key("svc", "a")}); err != nil || got.Item != nil {
		t.Errorf("after expiry GetItem: %v, %v; want no item", got.Item, err)
	}
	if c := count(); c != 2 {
		t.Errorf("after expiry Query counts %d, want 2", c)
	}
	scan, _ := e.c.Scan(ctx, &dynamodb.ScanInput{TableName: aws.String("tbl")})
	if scan.Count != 2 {
		t.Errorf("after expiry Scan counts %d, want 2", scan.Count)
	}
	// An expired item is gone for conditional writes too.
	if _, err := e.c.PutItem(ctx, &dynamodb.PutItemInput{TableName: aws.String("tbl"), Item: key("svc", "a"),
		ConditionExpression: aws.String("attribute_not_exists(pk)")}); err != nil {
		t.Errorf("put over an expired item: %v", err)
	}
}

func TestBatchAndTransactions(t *testing.T) {
	e := setup(t)
	e.createTable(t, "tbl")
	e.c.PutItem(ctx, &dynamodb.PutItemInput{TableName: aws.String("tbl"), Item: key("gone", "x")})
	_, err := e.c.BatchWriteItem(ctx, &dynamodb.BatchWriteItemInput{RequestItems: map[string][]types.WriteRequest{"tbl": {
		{PutRequest: &types.PutRequest{Item: key("a", "1")}},
		{PutRequest: &types.PutRequest{Item: key("a", "2")}},
		{DeleteRequest: &types.DeleteRequest{Key: key("gone", "x")}},
	}}})
	if err != nil {
		t.Fatal(err)
	}
	_, err = e.c.BatchWriteItem(ctx, &dynamodb.BatchWriteItemInput{RequestItems: map[string][]types.WriteRequest{"tbl": {
		{PutRequest: &types.PutRequest{Item: key("a", "3")}}, {DeleteRequest: &types.DeleteRequest{Key: key("a", "3")}}}}})
	if code(err) != "ValidationException" {
		t.Errorf("duplicate keys in a batch: %v, want ValidationException", err)
	}
	bg, err := e.c.BatchGetItem(ctx, &dynamodb.BatchGetItemInput{RequestItems: map[string]types.KeysAndAttributes{"tbl": {
		Keys: []map[string]types.AttributeValue{key("a", "1"), key("a", "2"), key("gone", "x"), key("a", "3")}}}})
	if err != nil || len(bg.Responses["tbl"]) != 2 {
		t.Errorf("BatchGetItem = %+v, %v; want 2 items", bg, err)
	}
	// A failed condition cancels the whole transaction.
	_, err = e.c.TransactWriteItems(ctx, &dynamodb.TransactWriteItemsInput{TransactItems: []types.TransactWriteItem{
		{Put: &types.Put{TableName: aws.String("tbl"), Item: key("b", "1")}},
		{ConditionCheck: &types.ConditionCheck{TableName: aws.String("tbl"), Key: key("a", "1"), ConditionExpression: aws.String("attribute_not_exists(pk)"),
			ReturnValuesOnConditionCheckFailure: types.ReturnValuesOnConditionCheckFailureAllOld}},
		{Delete: &types.Delete{TableName: aws.String("tbl"), Key: key("a", "2")}},
	}})
	var tce *types.TransactionCanceledException
	if !errors.As(err, &tce) {
		t.Fatalf("TransactWriteItems: %v, want TransactionCanceledException", err)
	}
	var codes []string
	for _, r := range tce.CancellationReasons {
		codes = append(codes, aws.ToString(r.Code))
	}
	if diff := cmp.Diff([]string{"None", "ConditionalCheckFailed", "None"}, codes); diff != "" || tce.CancellationReasons[1].Item == nil {
		t.Errorf("CancellationReasons (-want +got):\n%s (item %v)", diff, tce.CancellationReasons[1].Item)
	}
	if g, _ := e.c.GetItem(ctx, &dynamodb.GetItemInput{TableName: aws.String("tbl"), Key: key("b", "1")}); g.Item != nil {
		t.Error("a cancelled transaction wrote an item")
	}
	_, err = e.c.TransactWriteItems(ctx, &dynamodb.TransactWriteItemsInput{TransactItems: []types.TransactWriteItem{
		{Put: &types.Put{TableName: aws.String("tbl"), Item: key("b", "1"), ConditionExpression: aws.String("attribute_not_exists(pk)")}},
		{Update: &types.Update{TableName: aws.String("tbl"), Key: key("a", "1"), UpdateExpression: aws.String("SET v = :v"),
			ExpressionAttributeValues: map[string]types.AttributeValue{":v": n("1")}}},
		{Delete: &types.Delete{TableName: aws.String("tbl"), Key: key("a", "2")}},
	}})
	if err != nil {
		t.Fatal(err)
	}
	tg, err := e.c.TransactGetItems(ctx, &dynamodb.TransactGetItemsInput{TransactItems: []types.TransactGetItem{
		{Get: &types.Get{TableName: aws.String("tbl"), Key: key("b", "1")}},
		{Get: &types.Get{TableName: aws.String("tbl"), Key: key("a", "1")}},
		{Get: &types.Get{TableName: aws.String("tbl"), Key: key("a", "2")}},
	}})
	if err != nil || tg.Responses[0].Item == nil || tg.Responses[1].Item["v"] == nil || tg.Responses[2].Item != nil {
		t.Errorf("TransactGetItems = %+v, %v", tg, err)
	}
	_, err = e.c.TransactWriteItems(ctx, &dynamodb.TransactWriteItemsInput{TransactItems: []types.TransactWriteItem{
		{Put: &types.Put{TableName: aws.String("tbl"), Item: key("c", "1")}},
		{Delete: &types.Delete{TableName: aws.String("tbl"), Key: key("c", "1")}},
	}})
	if code(err) != "ValidationException" {
		t.Errorf("two operations on one item: %v, want ValidationException", err)
	}
}

func TestUnsupportedOperation(t *testing.T) {
	e := setup(t)
	_, err := e.c.UpdateTable(ctx, &dynamodb.UpdateTableInput{TableName: aws.String("tbl")})
	if code(err) != "UnknownOperationException" {
		t.Errorf("UpdateTable: %v, want UnknownOperationException", err)
	}
	if got := e.log.Count("dynamodb", "UpdateTable"); got != 1 {
		t.Errorf("call log counted %d UpdateTable calls, want 1", got)
	}
}

func TestThrottlingRetried(t *testing.T) {
	e := setup(t)
	e.createTable(t, "tbl")
	e.srv.Faults.AddThrottle(localcloud.Throttle{Service: "dynamodb", Operation: "PutItem", Rate: 1, Limit: 2})
	fast := func(o *dynamodb.Options) { o.Retryer = retry.AddWithMaxBackoffDelay(o.Retryer, time.Millisecond) }
	if _, err := e.c.PutItem(ctx, &dynamodb.PutItemInput{TableName: aws.String("tbl"), Item: key("a", "b")}, fast); err != nil {
		t.Fatalf("PutItem after two throttles: %v", err)
	}
	var calls, throttled int
	for _, c := range e.log.Calls() {
		if c.Operation == "PutItem" {
			calls++
			if c.Error == "ThrottlingException" {
				throttled++
			}
		}
	}
	if calls != 3 || throttled != 2 {
		t.Errorf("%d PutItem calls, %d throttled; want 3 and 2 (the SDK retries)", calls, throttled)
	}
}
