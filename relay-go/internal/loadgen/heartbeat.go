package loadgen

import (
	flatbuffers "github.com/google/flatbuffers/go"

	"github.com/plaza-dev/plaza/relay-go/gen/plaza/coord"
)

// StandInHeartbeat encodes a plaza.coord.RelayHeartbeat (PLZH) announcing a
// Ready relay, exactly as docs/redis.md specifies the relay's own. The bench
// uses it for W3 only while the relay does not yet write its heartbeat to
// Redis itself (the relay's Redis half is a later issue): the control plane
// then places rooms on the real relay the bench started, and everything
// else on the join path is real.
func StandInHeartbeat(relayID, publicURL, region string, capacity uint32, sentAtMs, startedAtMs int64) []byte {
	b := flatbuffers.NewBuilder(256)
	id, url, reg, build := b.CreateString(relayID), b.CreateString(publicURL), b.CreateString(region), b.CreateString("loadgen-stand-in")
	coord.RelayHeartbeatStart(b)
	coord.RelayHeartbeatAddRelayId(b, id)
	coord.RelayHeartbeatAddPublicUrl(b, url)
	coord.RelayHeartbeatAddRegion(b, reg)
	coord.RelayHeartbeatAddState(b, coord.RelayStateReady)
	coord.RelayHeartbeatAddCapacityConnections(b, capacity)
	coord.RelayHeartbeatAddSentAtMs(b, sentAtMs)
	coord.RelayHeartbeatAddBuild(b, build)
	coord.RelayHeartbeatAddStartedAtMs(b, startedAtMs)
	coord.FinishRelayHeartbeatBuffer(b, coord.RelayHeartbeatEnd(b))
	return b.FinishedBytes()
}
