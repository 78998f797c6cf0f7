// Command hello is the seed article's Go Lambda function: it answers every
// event with the same greeting.
package main

import (
	"context"
	"encoding/json"

	"github.com/aws/aws-lambda-go/lambda"
)

// Response is what the function returns for every event.
type Response struct {
	StatusCode int    `json:"statusCode"`
	Body       string `json:"body"`
}

func handler(_ context.Context, _ json.RawMessage) (Response, error) {
	return Response{StatusCode: 200, Body: "Hello from Lambda! :)"}, nil
}

func main() {
	lambda.Start(handler)
}
