package redisreplay_test

import (
	"log"
	"os"

	"github.com/tenantjwt/tenantjwt/dpop"
	"github.com/tenantjwt/tenantjwt/dpop/redisreplay"
	"github.com/tenantjwt/tenantjwt/issuer"
)

// Replicas share the DPoP proofs they have seen through one Redis server.
// The README's snippet is the region between the markers.
func Example() {
	var configs []issuer.Config // the trusted issuers
	// README:begin redisreplay
	store, err := redisreplay.Open("rediss://:"+os.Getenv("REDIS_PASSWORD")+"@redis:6380/0", redisreplay.Options{})
	if err != nil {
		log.Fatal(err)
	}
	defer store.Close()
	reg, err := issuer.New(issuer.Options{DPoP: dpop.Options{Replay: store}}, configs...)
	// README:end redisreplay
	if err != nil {
		log.Fatal(err)
	}
	defer reg.Close()
}
