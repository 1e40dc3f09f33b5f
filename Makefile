# The two commands of the README, and a few conveniences.
.PHONY: demo test bench fuzz lint

demo:  ## run the demo: a whole migration under load on an embedded Redis
	go run ./cmd/migratectl demo

test:  ## the whole test suite (installs redis-server when missing)
	scripts/test.sh

bench: ## the benchmarks quoted in the README
	go test -run '^$$' -bench . -benchmem ./migrate ./router ./store/... ./migrate/guard ./consistency

fuzz:  ## a short run of every fuzz target
	go test -run '^$$' -fuzz '^FuzzDecodeSidecar$$' -fuzztime 30s ./store/redisstore
	go test -run '^$$' -fuzz '^FuzzSidecarKey$$' -fuzztime 30s ./store/redisstore
	go test -run '^$$' -fuzz '^FuzzDecodeLookup$$' -fuzztime 30s ./store/redisstore
	go test -run '^$$' -fuzz '^FuzzDecodeRecord$$' -fuzztime 30s ./store/redisstore
	go test -run '^$$' -fuzz '^FuzzDecodeLatestReply$$' -fuzztime 30s ./store/redisstore
	go test -run '^$$' -fuzz '^FuzzHasher$$' -fuzztime 30s ./router
	go test -run '^$$' -fuzz '^FuzzDecodeState$$' -fuzztime 30s ./migrate/control
	go test -run '^$$' -fuzz '^FuzzDecodeAudit$$' -fuzztime 30s ./migrate/control
	go test -run '^$$' -fuzz '^FuzzDecodeHeartbeat$$' -fuzztime 30s ./migrate/control
	go test -run '^$$' -fuzz '^FuzzDecodeDiff$$' -fuzztime 30s ./migrate/control
	go test -run '^$$' -fuzz '^FuzzDecodeJobRecords$$' -fuzztime 30s ./migrate/control
	go test -run '^$$' -fuzz '^FuzzDecodeJobResults$$' -fuzztime 30s ./migrate
	go test -run '^$$' -fuzz '^FuzzDecodeReport$$' -fuzztime 30s ./consistency
	go test -run '^$$' -fuzz '^FuzzDecodeMembers$$' -fuzztime 30s ./consistency
	go test -run '^$$' -fuzz '^FuzzLoad$$' -fuzztime 30s ./config
	go test -run '^$$' -fuzz '^FuzzParsePercent$$' -fuzztime 30s ./cmd/migratectl

lint:
	gofmt -l . && go vet ./...
