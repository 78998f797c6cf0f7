// Package main is a Lambda function that processes batches of orders from an
// Amazon SQS queue.
//
// Each message body must be a JSON order such as
//
//	{"orderId":"ord-1001","item":"coffee beans","quantity":2}
//
// The function reports partial batch failures: it returns the IDs of the
// messages it could not process, and SQS retries only those (then moves them
// to the dead-letter queue, if the queue has one). This needs
// ReportBatchItemFailures in the event source mapping's FunctionResponseTypes;
// without it Lambda ignores the returned list and deletes the whole batch.
package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-lambda-go/lambda"
)

// Order is the JSON body of one message.
type Order struct {
	OrderID  string `json:"orderId"`
	Item     string `json:"item"`
	Quantity int    `json:"quantity"`
}

// handler processes every message of the batch and lists the ones that failed.
// It returns a Go error only when the whole batch should be retried.
func handler(ctx context.Context, event events.SQSEvent) (events.SQSEventResponse, error) {
	// An empty list (rather than null) says plainly: every message succeeded.
	resp := events.SQSEventResponse{BatchItemFailures: []events.SQSBatchItemFailure{}}

	for _, msg := range event.Records {
		if err := process(ctx, msg); err != nil {
			log.Printf("message %s failed: %v", msg.MessageId, err)
			resp.BatchItemFailures = append(resp.BatchItemFailures,
				events.SQSBatchItemFailure{ItemIdentifier: msg.MessageId})
		}
	}

	log.Printf("batch done: %d messages, %d failed",
		len(event.Records), len(resp.BatchItemFailures))
	return resp, nil
}

// process handles one message. Replace its body with your own work.
func process(_ context.Context, msg events.SQSMessage) error {
	var order Order
	if err := json.Unmarshal([]byte(msg.Body), &order); err != nil {
		return fmt.Errorf("body is not a JSON order: %w", err)
	}
	if order.OrderID == "" {
		return errors.New("order has no orderId")
	}
	if order.Quantity < 1 {
		return fmt.Errorf("order %s: quantity must be at least 1, got %d", order.OrderID, order.Quantity)
	}

	log.Printf("order %s: %d x %s", order.OrderID, order.Quantity, order.Item)
	return nil
}

func main() {
	lambda.Start(handler)
}
