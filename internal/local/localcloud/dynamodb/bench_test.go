package dynamodb_test

import (
	"fmt"
	"testing"

	"github.com/aws/aws-sdk-go-v2/aws"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb"
	"github.com/aws/aws-sdk-go-v2/service/dynamodb/types"
)

// BenchmarkConditionalPutAndQuery measures one conditional PutItem plus one
// newest-first Query page of 25, through the SDK over HTTP, on a table that
// grows by one item per iteration (the history store's pattern).
func BenchmarkConditionalPutAndQuery(b *testing.B) {
	e := setup(b)
	e.createTable(b, "bench")
	b.ResetTimer()
	for i := range b.N {
		_, err := e.c.PutItem(ctx, &dynamodb.PutItemInput{TableName: aws.String("bench"),
			Item:                map[string]types.AttributeValue{"pk": s(fmt.Sprint("svc", i%10)), "sk": s(fmt.Sprintf("DEP#%08d", i)), "status": s("SUCCEEDED")},
			ConditionExpression: aws.String("attribute_not_exists(pk)")})
		if err != nil {
			b.Fatal(err)
		}
		_, err = e.c.Query(ctx, &dynamodb.QueryInput{TableName: aws.String("bench"),
			KeyConditionExpression:    aws.String("pk = :p AND begins_with(sk, :d)"),
			ExpressionAttributeValues: map[string]types.AttributeValue{":p": s(fmt.Sprint("svc", i%10)), ":d": s("DEP#")},
			ScanIndexForward:          aws.Bool(false), Limit: aws.Int32(25)})
		if err != nil {
			b.Fatal(err)
		}
	}
}
