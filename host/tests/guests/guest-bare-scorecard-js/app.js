// The component entry: the cheapest JavaScript scorecard there is. No SDK, no logic:
// the WIT records componentize-js's bindings lift are answered with one fixed-shape
// result. `cargo bench --bench polyglot_call` runs it on the same 20-turn
// conversation as the support-policy ports, so what it costs is the floor every
// JavaScript plugin pays per call (bindings, engine entry, restore), measured in
// the same run. guest-sdk-scorecard-js adds the SDK's conversion on top;
// guest-bare-scorecard-py is the Python twin.
export const scorer = {
  info: () => ({ name: 'guest-bare-scorecard-js', version: '0.1.0', description: 'counts turns; no SDK' }),
  score: (conversation) => ({
    score: 1,
    criteria: [{ name: 'turns', score: 1, passed: true, reason: `${conversation.turns.length} turns`, turn: undefined }],
    flags: [],
    failureMode: undefined,
    suggestedCriteria: [],
  }),
};
