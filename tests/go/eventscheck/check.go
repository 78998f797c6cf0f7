// Package eventscheck proves that every sample event in lambdadev/catalog
// decodes into the aws-lambda-go type that lambdadev/catalog/index.toml names
// for it, the way a Go handler would receive it.
//
// Each sample is decoded three ways:
//
//  1. strictly, with json.Decoder.DisallowUnknownFields, after removing the
//     few fields AWS sends that the Go type does not model (KnownExtras, each
//     of which must exist, so the list cannot go stale);
//  2. by a round trip: every key of the sample with a non-zero value must
//     come back, spelled exactly the same, when the decoded value is encoded
//     again. This catches what (1) cannot: encoding/json matches field names
//     case-insensitively, and custom UnmarshalJSON methods (S3Object,
//     DynamoDBAttributeValue) silently drop fields they do not know;
//  3. by checks that the fields a handler relies on are set.
package eventscheck

import (
	"bytes"
	"compress/gzip"
	"crypto/md5"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"reflect"
	"sort"
	"strings"

	"github.com/BurntSushi/toml"
	"github.com/aws/aws-lambda-go/events"
)

// CatalogDir is the catalog this module checks: lambdadev/catalog in the
// repository, or $LAMBDADEV_CATALOG_DIR when set.
func CatalogDir() string {
	if dir := os.Getenv("LAMBDADEV_CATALOG_DIR"); dir != "" {
		return dir
	}
	return filepath.Join("..", "..", "..", "lambdadev", "catalog")
}

// IndexEntry is one [events.<name>] table of index.toml.
type IndexEntry struct {
	Description string `toml:"description"`
	GoType      string `toml:"go_type"`
}

// ReadIndex parses index.toml and rejects keys this module does not know.
func ReadIndex(dir string) (map[string]IndexEntry, error) {
	var doc struct {
		Events map[string]IndexEntry `toml:"events"`
	}
	meta, err := toml.DecodeFile(filepath.Join(dir, "index.toml"), &doc)
	if err != nil {
		return nil, err
	}
	if undecoded := meta.Undecoded(); len(undecoded) > 0 {
		return nil, fmt.Errorf("index.toml: unknown keys %v", undecoded)
	}
	return doc.Events, nil
}

// Sample says how to check one catalog file.
type Sample struct {
	// GoType is the decode target, as index.toml spells it ("events.SQSEvent").
	// It is derived from the Go type itself, so it cannot lie.
	GoType string
	// KnownExtras are dotted paths of fields AWS sends that GoType lacks.
	KnownExtras []string
	// FreeForm are paths (array indexes written "[]") under which GoType
	// accepts any JSON, such as json.RawMessage or map[string]interface{}.
	FreeForm []string
	// New returns a pointer to a new zero value of the Go type.
	New func() any
	// Check decodes raw JSON and returns the first problem found.
	Check func(raw []byte) error
}

func sample[T any](extras, freeForm []string, keyFields func(*T) error) Sample {
	return Sample{
		GoType:      strings.TrimPrefix(fmt.Sprintf("%T", new(T)), "*"),
		KnownExtras: extras,
		FreeForm:    freeForm,
		New:         func() any { return new(T) },
		Check: func(raw []byte) error {
			var v T
			if err := DecodeStrict(raw, &v, extras); err != nil {
				return err
			}
			return keyFields(&v)
		},
	}
}

// also returns s with one more check, run after s.Check succeeds.
func (s Sample) also(check func(raw []byte) error) Sample {
	first := s.Check
	s.Check = func(raw []byte) error {
		if err := first(raw); err != nil {
			return err
		}
		return check(raw)
	}
	return s
}

// Samples is the Go side of the catalog: name -> how to check it.
// TestIndexMatchesGoTable keeps it equal to index.toml and the JSON files.
var Samples = map[string]Sample{
	"apigw-rest": sample([]string{"requestContext.identity.principalOrgId"}, nil,
		func(e *events.APIGatewayProxyRequest) error {
			rc := e.RequestContext
			return firstErr(
				need("resource", e.Resource, "path", e.Path, "httpMethod", e.HTTPMethod,
					"headers", e.Headers, "multiValueHeaders", e.MultiValueHeaders,
					"requestContext.requestId", rc.RequestID, "requestContext.stage", rc.Stage,
					"requestContext.apiId", rc.APIID, "requestContext.requestTimeEpoch", rc.RequestTimeEpoch,
					"requestContext.identity.sourceIp", rc.Identity.SourceIP),
				equal("requestContext.httpMethod", rc.HTTPMethod, e.HTTPMethod),
				equal("requestContext.resourcePath", rc.ResourcePath, e.Resource),
			)
		}),
	"apigw-http": sample(nil, nil, func(e *events.APIGatewayV2HTTPRequest) error {
		return checkPayloadV2(e)
	}),
	"function-url": sample([]string{"routeKey", "requestContext.routeKey", "requestContext.stage"}, nil,
		func(e *events.LambdaFunctionURLRequest) error {
			rc := e.RequestContext
			return firstErr(
				equal("version", e.Version, "2.0"),
				need("rawPath", e.RawPath, "headers", e.Headers,
					"requestContext.requestId", rc.RequestID, "requestContext.domainName", rc.DomainName,
					"requestContext.timeEpoch", rc.TimeEpoch, "requestContext.http.method", rc.HTTP.Method,
					"requestContext.http.sourceIp", rc.HTTP.SourceIP),
				equal("requestContext.http.path", rc.HTTP.Path, e.RawPath),
			)
		}).also(func(raw []byte) error {
		// A function URL sends payload format 2.0, which HTTP APIs send too;
		// with that type nothing is an extra, and routeKey must be $default.
		var e events.APIGatewayV2HTTPRequest
		if err := DecodeStrict(raw, &e, nil); err != nil {
			return fmt.Errorf("as events.APIGatewayV2HTTPRequest: %w", err)
		}
		return firstErr(equal("routeKey", e.RouteKey, "$default"), checkPayloadV2(&e))
	}),
	"sqs": sample(nil, nil, func(e *events.SQSEvent) error {
		return eachRecord(e.Records, func(r events.SQSMessage) error {
			sum := md5.Sum([]byte(r.Body))
			return firstErr(
				need("messageId", r.MessageId, "receiptHandle", r.ReceiptHandle, "body", r.Body,
					"eventSourceARN", r.EventSourceARN, "awsRegion", r.AWSRegion, "attributes", r.Attributes),
				equal("eventSource", r.EventSource, "aws:sqs"),
				equal("md5OfBody", r.Md5OfBody, hex.EncodeToString(sum[:])),
			)
		})
	}),
	"sns": sample(nil, []string{"Records[].Sns.MessageAttributes"}, func(e *events.SNSEvent) error {
		return eachRecord(e.Records, func(r events.SNSEventRecord) error {
			return firstErr(
				equal("EventSource", r.EventSource, "aws:sns"),
				need("EventSubscriptionArn", r.EventSubscriptionArn, "Sns.MessageId", r.SNS.MessageID,
					"Sns.TopicArn", r.SNS.TopicArn, "Sns.Message", r.SNS.Message, "Sns.Type", r.SNS.Type,
					"Sns.Timestamp", r.SNS.Timestamp),
			)
		})
	}),
	"s3-put":    sample(nil, nil, checkS3("ObjectCreated:", true)),
	"s3-delete": sample(nil, nil, checkS3("ObjectRemoved:", false)),
	"schedule": sample(nil, []string{"detail"}, func(e *events.CloudWatchEvent) error {
		var detail map[string]any
		return firstErr(
			need("id", e.ID, "account", e.AccountID, "time", e.Time, "region", e.Region,
				"resources", e.Resources, "detail", e.Detail),
			equal("detail-type", e.DetailType, "Scheduled Event"),
			equal("source", e.Source, "aws.events"),
			json.Unmarshal(e.Detail, &detail),
		)
	}),
	"dynamodb-stream": sample(nil, nil, func(e *events.DynamoDBEvent) error {
		return eachRecord(e.Records, func(r events.DynamoDBEventRecord) error {
			c := r.Change
			err := firstErr(
				equal("eventSource", r.EventSource, "aws:dynamodb"),
				need("eventID", r.EventID, "eventSourceARN", r.EventSourceArn, "awsRegion", r.AWSRegion,
					"dynamodb.ApproximateCreationDateTime", c.ApproximateCreationDateTime,
					"dynamodb.Keys", c.Keys, "dynamodb.SequenceNumber", c.SequenceNumber,
					"dynamodb.SizeBytes", c.SizeBytes, "dynamodb.StreamViewType", c.StreamViewType),
			)
			if err != nil {
				return err
			}
			both := c.StreamViewType == string(events.DynamoDBStreamViewTypeNewAndOldImages)
			switch events.DynamoDBOperationType(r.EventName) {
			case events.DynamoDBOperationTypeInsert:
				return need("dynamodb.NewImage", c.NewImage)
			case events.DynamoDBOperationTypeModify:
				if both {
					return need("dynamodb.NewImage", c.NewImage, "dynamodb.OldImage", c.OldImage)
				}
				return nil
			case events.DynamoDBOperationTypeRemove:
				if both {
					return need("dynamodb.OldImage", c.OldImage)
				}
				return nil
			default:
				return fmt.Errorf("eventName %q is not INSERT, MODIFY or REMOVE", r.EventName)
			}
		})
	}),
	"kinesis": sample(nil, nil, func(e *events.KinesisEvent) error {
		return eachRecord(e.Records, func(r events.KinesisEventRecord) error {
			k := r.Kinesis
			return firstErr(
				equal("eventSource", r.EventSource, "aws:kinesis"),
				equal("eventName", r.EventName, "aws:kinesis:record"),
				need("eventID", r.EventID, "eventSourceARN", r.EventSourceArn,
					"kinesis.partitionKey", k.PartitionKey, "kinesis.sequenceNumber", k.SequenceNumber,
					"kinesis.data", k.Data, "kinesis.approximateArrivalTimestamp", k.ApproximateArrivalTimestamp),
			)
		})
	}),
	"cloudwatch-logs": sample(nil, nil, func(e *events.CloudwatchLogsEvent) error {
		// The library's own decoder first, as a handler would call it ...
		data, err := e.AWSLogs.Parse()
		if err != nil {
			return fmt.Errorf("awslogs.data: Parse(): %w", err)
		}
		// ... then the same payload strictly.
		payload, err := gunzipBase64(e.AWSLogs.Data)
		if err != nil {
			return fmt.Errorf("awslogs.data: %w", err)
		}
		var strict events.CloudwatchLogsData
		if err := DecodeStrict(payload, &strict, nil); err != nil {
			return fmt.Errorf("awslogs.data payload: %w", err)
		}
		return firstErr(
			equal("awslogs.data: messageType", data.MessageType, "DATA_MESSAGE"),
			need("awslogs.data: owner", data.Owner, "awslogs.data: logGroup", data.LogGroup,
				"awslogs.data: logStream", data.LogStream,
				"awslogs.data: subscriptionFilters", data.SubscriptionFilters),
			eachRecord(data.LogEvents, func(l events.CloudwatchLogsLogEvent) error {
				return need("id", l.ID, "timestamp", l.Timestamp, "message", l.Message)
			}),
		)
	}),
}

func checkPayloadV2(e *events.APIGatewayV2HTTPRequest) error {
	rc := e.RequestContext
	return firstErr(
		equal("version", e.Version, "2.0"),
		need("routeKey", e.RouteKey, "rawPath", e.RawPath, "headers", e.Headers,
			"requestContext.requestId", rc.RequestID, "requestContext.stage", rc.Stage,
			"requestContext.domainName", rc.DomainName, "requestContext.timeEpoch", rc.TimeEpoch,
			"requestContext.http.method", rc.HTTP.Method, "requestContext.http.sourceIp", rc.HTTP.SourceIP),
		equal("requestContext.routeKey", rc.RouteKey, e.RouteKey),
		equal("requestContext.http.path", rc.HTTP.Path, e.RawPath),
	)
}

func checkS3(eventPrefix string, created bool) func(*events.S3Event) error {
	return func(e *events.S3Event) error {
		return eachRecord(e.Records, func(r events.S3EventRecord) error {
			o := r.S3.Object
			err := firstErr(
				equal("eventSource", r.EventSource, "aws:s3"),
				need("eventVersion", r.EventVersion, "awsRegion", r.AWSRegion, "eventTime", r.EventTime,
					"s3.bucket.name", r.S3.Bucket.Name, "s3.bucket.arn", r.S3.Bucket.Arn,
					"s3.object.key", o.Key, "s3.object.urlDecodedKey", o.URLDecodedKey,
					"s3.object.sequencer", o.Sequencer),
			)
			if err == nil && !strings.HasPrefix(r.EventName, eventPrefix) {
				err = fmt.Errorf("eventName %q does not start with %q", r.EventName, eventPrefix)
			}
			if err == nil && created {
				err = need("s3.object.size", o.Size, "s3.object.eTag", o.ETag)
			}
			return err
		})
	}
}

// DecodeStrict decodes raw into v with unknown fields disallowed, once the
// known extras are removed, then checks the round trip (see the package doc).
func DecodeStrict(raw []byte, v any, extras []string) error {
	tree, err := parseTree(raw)
	if err != nil {
		return err
	}
	for _, path := range extras {
		if err := removePath(tree, path); err != nil {
			return err
		}
	}
	cleaned, err := json.Marshal(tree)
	if err != nil {
		return err
	}
	dec := json.NewDecoder(bytes.NewReader(cleaned))
	dec.DisallowUnknownFields()
	if err := dec.Decode(v); err != nil {
		return fmt.Errorf("decode into %T: %w", v, err)
	}
	encoded, err := json.Marshal(v)
	if err != nil {
		return fmt.Errorf("encode %T again: %w", v, err)
	}
	back, err := parseTree(encoded)
	if err != nil {
		return err
	}
	return sameKeys(tree, back, "")
}

func parseTree(raw []byte) (any, error) {
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber()
	var tree any
	if err := dec.Decode(&tree); err != nil {
		return nil, fmt.Errorf("invalid JSON: %w", err)
	}
	if _, err := dec.Token(); !errors.Is(err, io.EOF) {
		return nil, errors.New("invalid JSON: data after the top-level value")
	}
	return tree, nil
}

func removePath(tree any, path string) error {
	keys := strings.Split(path, ".")
	node := tree
	for i, key := range keys {
		obj, ok := node.(map[string]any)
		if !ok {
			return fmt.Errorf("known extra %q: %s is not an object", path, strings.Join(keys[:i], "."))
		}
		child, ok := obj[key]
		if !ok {
			return fmt.Errorf("known extra %q is not in the sample; drop it from KnownExtras", path)
		}
		if i == len(keys)-1 {
			delete(obj, key)
			return nil
		}
		node = child
	}
	return nil
}

// sameKeys checks that every key of orig holding a non-zero value is also in
// back, spelled the same. Zero values are skipped: omitempty drops them.
func sameKeys(orig, back any, path string) error {
	switch o := orig.(type) {
	case map[string]any:
		b, ok := back.(map[string]any)
		if !ok {
			return fmt.Errorf("%s: the Go type does not decode this object as an object", describe(path))
		}
		keys := make([]string, 0, len(o))
		for k := range o {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		for _, k := range keys {
			if isZeroJSON(o[k]) {
				continue
			}
			child := joinPath(path, k)
			bv, ok := b[k]
			if !ok {
				return fmt.Errorf("%s: the Go type has no field spelled exactly %q (misspelt, wrong case, or dropped by a custom decoder)", child, k)
			}
			if err := sameKeys(o[k], bv, child); err != nil {
				return err
			}
		}
	case []any:
		b, ok := back.([]any)
		if !ok || len(b) != len(o) {
			return fmt.Errorf("%s: the array does not survive a decode/encode round trip", describe(path))
		}
		for i := range o {
			if err := sameKeys(o[i], b[i], fmt.Sprintf("%s[%d]", path, i)); err != nil {
				return err
			}
		}
	}
	return nil
}

func isZeroJSON(v any) bool {
	switch x := v.(type) {
	case nil:
		return true
	case bool:
		return !x
	case string:
		return x == ""
	case json.Number:
		f, err := x.Float64()
		return err == nil && f == 0
	case []any:
		return len(x) == 0
	case map[string]any:
		return len(x) == 0
	}
	return false
}

func joinPath(path, key string) string {
	if path == "" {
		return key
	}
	return path + "." + key
}

func describe(path string) string {
	if path == "" {
		return "top level"
	}
	return path
}

func gunzipBase64(data string) ([]byte, error) {
	compressed, err := base64.StdEncoding.DecodeString(data)
	if err != nil {
		return nil, err
	}
	zr, err := gzip.NewReader(bytes.NewReader(compressed))
	if err != nil {
		return nil, err
	}
	defer func() { _ = zr.Close() }()
	return io.ReadAll(zr)
}

// need takes name, value pairs and reports the first value that is zero.
func need(pairs ...any) error {
	for i := 0; i+1 < len(pairs); i += 2 {
		v := reflect.ValueOf(pairs[i+1])
		if !v.IsValid() || v.IsZero() || ((v.Kind() == reflect.Map || v.Kind() == reflect.Slice) && v.Len() == 0) {
			return fmt.Errorf("%v is missing or empty", pairs[i])
		}
	}
	return nil
}

func equal(name, got, want string) error {
	if got != want {
		return fmt.Errorf("%s is %q, want %q", name, got, want)
	}
	return nil
}

func firstErr(errs ...error) error {
	for _, err := range errs {
		if err != nil {
			return err
		}
	}
	return nil
}

func eachRecord[R any](records []R, check func(R) error) error {
	if len(records) == 0 {
		return errors.New("no records")
	}
	for i, r := range records {
		if err := check(r); err != nil {
			return fmt.Errorf("record %d: %w", i, err)
		}
	}
	return nil
}
