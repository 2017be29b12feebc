package redisbridge

// keyspace builds the relay's key and channel names. Every name is declared
// once, in schemas/keyspace.json (scope + pattern); keyspace_test.go checks
// each method below against that file, so a name changed here and not
// there, or there and not here, fails the tests. docs/redis.md describes
// what each key holds.
//
// The zero value is not usable: p is the configured prefix (Config.Prefix,
// default "plaza:") and relay this relay's id.
type keyspace struct{ p, relay string }

// defaultPrefix is the prefix of every name when Config.Prefix is "".
const defaultPrefix = "plaza:"

// allocSuffix follows the prefix in every allocation key ("A" scope): the
// {alloc} hash tag puts all of them in one Redis Cluster slot.
const allocSuffix = "{alloc}:"

func (k keyspace) alloc() string { return k.p + allocSuffix }

// relayHB is A relay:<relay_id>:hb, this relay's heartbeat.
func (k keyspace) relayHB() string { return k.alloc() + "relay:" + k.relay + ":hb" }

// relays is A relays, the set of relay ids that have heartbeated.
func (k keyspace) relays() string { return k.alloc() + "relays" }

// events is P events, the room event stream.
func (k keyspace) events() string { return k.p + "events" }

// worldConfig is P world:{<world_id>}:config.
func (k keyspace) worldConfig(worldID string) string { return k.p + "world:{" + worldID + "}:config" }

// roomSnapshot is P room:{<room_id>}:snapshot.
func (k keyspace) roomSnapshot(roomID string) string { return k.p + "room:{" + roomID + "}:snapshot" }

// cmdRelay is the channel P cmd:relay:<relay_id> of this relay's commands.
func (k keyspace) cmdRelay() string { return k.p + "cmd:relay:" + k.relay }

// cmdAll is the broadcast command channel P cmd:all.
func (k keyspace) cmdAll() string { return k.p + "cmd:all" }

// room is A room:<room_id>, the room's allocation (fields relay, lifetime,
// …; written by the control plane's scripts, read by the relay).
func (k keyspace) room(roomID string) string { return k.alloc() + "room:" + roomID }

// ticketUsed is P ticket_used:{<jti>}, the record that a ticket was used.
func (k keyspace) ticketUsed(jti string) string { return k.p + "ticket_used:{" + jti + "}" }
