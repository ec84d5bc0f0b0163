package tilecache_test

import (
	"context"
	"fmt"

	"github.com/nats-io/nats.go"
	"github.com/nats-io/nats.go/jetstream"

	"github.com/geocluster/geocluster/libs/tilecache"
)

// A worker reads and writes tiles through one client and announces what
// its near-cache holds (for data locality). It is not run: it needs a
// provisioned server.
func ExampleClient() {
	ctx := context.Background()
	nc, _ := nats.Connect(nats.DefaultURL, nats.Name("worker"))
	defer nc.Close()
	js, _ := jetstream.New(nc)

	cfg := tilecache.DefaultConfig()
	cfg.Writer = "w-1"
	cfg.OnNear = func(object string, held bool) { /* announce held / dropped */ }
	c, err := tilecache.New(ctx, nc, js, cfg)
	if err != nil {
		fmt.Println(err)
		return
	}
	defer c.Close()

	if err := c.Put(ctx, "jobs/J1/out/0_0.tif", []byte("a tile")); err != nil {
		fmt.Println(err)
		return
	}
	data, err := c.Get(ctx, "jobs/J1/out/0_0.tif") // shared with the near-cache: read only
	if err != nil {
		fmt.Println(err)
		return
	}
	st := c.Stats()
	fmt.Println(len(data), st.NearHits, st.RemoteBytes, st.StoreBytes)
}
