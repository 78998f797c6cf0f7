// Package main is a scheduled job: an Amazon EventBridge rule with a schedule
// expression, such as cron(0 2 * * ? *) for every night at 02:00 UTC, invokes
// this Lambda function with a "Scheduled Event".
//
// It returns a small JSON summary: which rule fired, and for what time.
// (EventBridge Scheduler, the newer service, sends the input you configure
// instead of this event; adapt the handler's argument if you use it.)
package main

import (
	"context"
	"fmt"
	"log"
	"time"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-lambda-go/lambda"
)

// Summary is what the function returns.
type Summary struct {
	EventID       string `json:"eventId"`
	RuleARN       string `json:"ruleArn"`
	ScheduledTime string `json:"scheduledTime"`
}

// handler checks that the event is a scheduled one, then runs the job.
func handler(ctx context.Context, event events.EventBridgeEvent) (Summary, error) {
	if event.DetailType != "Scheduled Event" {
		return Summary{}, fmt.Errorf("unexpected detail-type %q: this function runs on a schedule", event.DetailType)
	}

	// The rule that fired is the event's only resource.
	var rule string
	if len(event.Resources) > 0 {
		rule = event.Resources[0]
	}

	// event.Time is the time the run was scheduled for, not the time it
	// started: use it to decide which period to process.
	if err := job(ctx, event.Time); err != nil {
		return Summary{}, err // Lambda retries failed asynchronous invocations
	}

	return Summary{
		EventID:       event.ID,
		RuleARN:       rule,
		ScheduledTime: event.Time.UTC().Format(time.RFC3339),
	}, nil
}

// job is the scheduled work. Replace its body with your own; stop early when
// ctx is done (the function's timeout is near).
func job(ctx context.Context, scheduled time.Time) error {
	log.Printf("running the job scheduled for %s", scheduled.UTC().Format(time.RFC3339))
	return ctx.Err()
}

func main() {
	lambda.Start(handler)
}
