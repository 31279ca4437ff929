// Command minimal is the smallest aws-lambda-go function (it echoes its
// payload): fnbench's yardstick for the functions' size and init cost.
package main

import (
	"context"
	"encoding/json"

	"github.com/aws/aws-lambda-go/lambda"
)

func main() {
	lambda.Start(func(_ context.Context, in json.RawMessage) (json.RawMessage, error) { return in, nil })
}
