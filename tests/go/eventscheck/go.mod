module lambdadev.local/tests/eventscheck

go 1.26

require (
	github.com/BurntSushi/toml v1.6.0
	github.com/aws/aws-lambda-go v1.55.1
)
