// Package main is a Lambda function that reacts to new objects in an Amazon S3
// bucket.
//
// Configure the bucket to send s3:ObjectCreated:* notifications to this
// function. For each new object it logs the bucket, key and size, and it
// returns a small JSON summary of the batch.
package main

import (
	"context"
	"fmt"
	"log"
	"net/url"
	"strings"

	"github.com/aws/aws-lambda-go/events"
	"github.com/aws/aws-lambda-go/lambda"
)

// Object is one new object, with its key decoded.
type Object struct {
	Bucket string `json:"bucket"`
	Key    string `json:"key"`
	Size   int64  `json:"size"`
}

// Summary is what the function returns.
type Summary struct {
	Objects    []Object `json:"objects"`
	TotalBytes int64    `json:"totalBytes"`
}

// handler summarizes the ObjectCreated records of one notification.
func handler(ctx context.Context, event events.S3Event) (Summary, error) {
	summary := Summary{Objects: []Object{}}

	for _, record := range event.Records {
		if !strings.HasPrefix(record.EventName, "ObjectCreated:") {
			log.Printf("skipping %s event", record.EventName)
			continue
		}

		// S3 sends keys URL-encoded ("my file.txt" arrives as "my+file.txt"):
		// decode them before using them with the S3 API or showing them.
		// (aws-lambda-go also fills record.S3.Object.URLDecodedKey.)
		key, err := url.QueryUnescape(record.S3.Object.Key)
		if err != nil {
			return Summary{}, fmt.Errorf("decoding key %q: %w", record.S3.Object.Key, err)
		}

		obj := Object{Bucket: record.S3.Bucket.Name, Key: key, Size: record.S3.Object.Size}
		log.Printf("%s: s3://%s/%s (%d bytes)", record.EventName, obj.Bucket, obj.Key, obj.Size)

		summary.Objects = append(summary.Objects, obj)
		summary.TotalBytes += obj.Size
	}
	return summary, nil
}

func main() {
	lambda.Start(handler)
}
