# model_test.capnp - the script format of model-test (services/model-test),
# the deterministic LanguageModel (docs/agent.md). A script is a
# Cap'n Proto constant `const script :ModelTest.Script` in
# fixtures/model-test-script.capnp; the build compiles it with
# `capnp eval -b` into the service's image, so a mistake in a script is a
# build error naming its line.
#
# How a turn is chosen: at startTurn the model looks at the conversation
# (ModelMessage list) and takes the first rule whose three conditions all
# hold; no rule matching is a `failed` CapException naming the last user
# message. The rule's steps become the turn's events, one per
# ModelTurn.next, then done(stop).
@0x94f056f00ff02c1c;

using Capos = import "/capos.capnp";

struct Script @0x90e452fce1735bda {
  rules @0 :List(Rule);  # tried in order; the first that matches is used
}

struct Rule @0xeabcb1774112c9a6 {
  name @0 :Text;
  # For people reading the script and for the mismatch message.
  user @1 :Text;
  # The text of the conversation's last user message must equal this;
  # "" matches any (and a conversation without a user message).
  round @2 :UInt32;
  # How many tool messages follow that user message: 0 is the model's
  # first answer to it, 1 its answer to the first tool results, ...
  outcome @3 :Text;
  # "" matches any; else the last tool result's outcome must be this:
  # "output", "failed", "denied", "cancelled" or "timedOut".
  steps @4 :List(Step);
  stop @5 :Capos.StopReason;
  # The done event that ends the turn (toolCalls when the steps hold
  # calls), unless the token bound or a cancel ends it first.
  anyRound @6 :Bool;
  # round is not checked: the rule answers every round (a model that
  # never stops calling tools).
}

struct Step @0x907c55cb66cd1679 {
  union {
    text @0 :Text;
    # One text chunk; costs one output token per word (a run of bytes
    # other than space, tab and newline).
    toolCall @1 :Capos.ToolCall;
    # One tool call, costing one token; an empty id is given one,
    # "call-N", N counting the calls of the conversation from 1.
    echoTools @2 :Void;
    # One text chunk per tool descriptor of startTurn, in order:
    # "tool NAME(PARAM:TYPE, OPTIONAL?:TYPE) MODE read-only|mutating\n",
    # so a test sees exactly what the model was offered.
    echoRoles @3 :Void;
    # One text chunk naming the roles of the conversation's messages in
    # order: "roles: user assistant tool user\n", so a test sees the
    # history the runner sent.
  }
}
