//! The one error type of the core crate.
//!
//! Every refusal of the protocol core is a typed variant here, so that the
//! daemons can map it to a precise gRPC status (`INVALID_ARGUMENT` with the
//! reason) instead of matching on strings.

use thiserror::Error;

/// Everything the protocol core can refuse.
#[derive(Debug, Error, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Error {
    // ---- keys and escrow (Bitcoin) ----
    /// A hash reduced mod N (or a sum of secrets) is zero: not a valid secret key.
    #[error("derived secret scalar is zero")]
    ZeroScalar,
    /// A sum of public keys is the point at infinity.
    #[error("sum of public keys is the point at infinity")]
    PointAtInfinity,
    /// A key list that must not be empty is empty.
    #[error("empty key list")]
    EmptyKeyList,
    /// The calculator's own message key is not the published one at its index.
    #[error("own message key does not match the published key at index {index}")]
    MessageKeyMismatch {
        /// 0-based index of the calculator.
        index: usize,
    },
    /// The published message keys do not sum to the published aggregate key.
    #[error("published message keys do not sum to the aggregate key")]
    AggregateKeyMismatch,
    /// An escrow index (calculator, message key, input) is out of range.
    #[error("index {index} out of range (len {len})")]
    EscrowIndexOutOfRange {
        /// The requested index.
        index: usize,
        /// The number of elements.
        len: usize,
    },
    /// A job has no calculator (n = 0).
    #[error("a job needs at least one calculator")]
    NoCalculators,
    /// Two of the escrow keys (O, T, C_*, P_M, message keys) are equal.
    #[error("duplicate key in escrow terms: {0}")]
    DuplicateKey(String),
    /// The same coin is given twice as a funding input.
    #[error("funding input {outpoint} is given twice")]
    DuplicateOutpoint {
        /// The repeated outpoint.
        outpoint: bitcoin::OutPoint,
    },
    /// A fee rate below the minimum relay fee rate (1 sat/vB).
    #[error("fee rate of {sat_per_kwu} sat/kwu is below the minimum of {min_sat_per_kwu} sat/kwu")]
    FeeRateTooLow {
        /// The rate given, in sat per 1000 weight units.
        sat_per_kwu: u64,
        /// The minimum (`escrow::fee::MIN_RELAY_FEE_RATE`), in sat/kwu.
        min_sat_per_kwu: u64,
    },
    /// An output would be below the dust limit.
    #[error("output of {value} sat is below the dust limit of {limit} sat")]
    Dust {
        /// The output value in satoshi.
        value: u64,
        /// The dust limit for that script.
        limit: u64,
    },
    /// The fee would consume the whole amount.
    #[error("fee {fee} sat is not below the amount {amount} sat")]
    FeeTooHigh {
        /// The computed fee in satoshi.
        fee: u64,
        /// The amount it is taken from.
        amount: u64,
    },
    /// The inputs of a party do not cover what it must pay.
    #[error("insufficient funds: have {have} sat, need {need} sat")]
    InsufficientFunds {
        /// Sum of the party's inputs.
        have: u64,
        /// What the party must pay.
        need: u64,
    },
    /// The timeout t is zero, not a block height, or not above the current height.
    #[error("invalid timeout t = {t} (current height {current_height})")]
    InvalidTimeout {
        /// The timeout height t.
        t: u32,
        /// The caller's current chain height (0 when checked without one).
        current_height: u32,
    },
    /// More calculators than one escrow supports (`escrow::limits`).
    #[error("{n} calculators exceed the escrow cap of {max}")]
    TooManyEscrowCalculators {
        /// The number of calculators n.
        n: usize,
        /// `escrow::limits::MAX_ESCROW_CALCULATORS`.
        max: usize,
    },
    /// The threshold-trap leaves could never be spent (stack limit) or their
    /// sweep not relayed (standard weight); see `escrow::limits`.
    #[error("threshold trap with n = {n}: {what} of {value} exceeds {max}")]
    ThresholdTooLarge {
        /// The number of calculators (message keys) n.
        n: usize,
        /// What exceeds its limit (`"peak stack size"`, `"sweep weight"`).
        what: &'static str,
        /// Its value for these terms.
        value: u64,
        /// The limit.
        max: u64,
    },
    /// Threshold l not in 1..=n or threshold keys not one per calculator.
    #[error("invalid threshold trap: {0}")]
    InvalidThreshold(String),
    /// Building the taproot tree, a sighash or a witness failed.
    #[error("taproot error: {0}")]
    Taproot(String),
    /// A required signature is missing.
    #[error("missing signature of key {0}")]
    MissingSignature(String),
    /// A signature does not verify.
    #[error("invalid signature: {0}")]
    InvalidSignature(String),
    /// A key is asked to sign something it is not a party to.
    #[error("key {0} is not a signer of this input")]
    NotASigner(String),
    /// A transaction or PSBT does not match the agreed escrow terms.
    #[error("transaction does not match the escrow terms: {0}")]
    TermsMismatch(String),
    /// An amount overflowed.
    #[error("amount overflow")]
    AmountOverflow,
    /// A spend of an escrow output that a party is asked to sign deviates
    /// from what the protocol lets it sign (`escrow::check`).
    #[error("refusing to sign {what} for index {index}: {fault}")]
    SpendRefused {
        /// Which transaction (`"Redeem"`, `"conversion"`).
        what: &'static str,
        /// 0-based index i of Pay_i.
        index: usize,
        /// What is wrong with it.
        fault: crate::escrow::SpendFault,
    },
    // ---- commitments, sampling, task kinds ----
    /// A Merkle tree (or a sample of one) needs at least one leaf.
    #[error("a Merkle tree needs at least one leaf")]
    EmptyTree,
    /// A leaf index is not below the number of leaves.
    #[error("leaf index {index} out of range for a tree of {leaf_count} leaves")]
    IndexOutOfRange {
        /// The requested 0-based index.
        index: u64,
        /// The number of leaves.
        leaf_count: u64,
    },
    /// A probability (sampling target `p` or honest fraction `q`) outside (0, 1).
    #[error("probability {name} = {value} must be strictly between 0 and 1")]
    InvalidProbability {
        /// `"p"` or `"q"`.
        name: &'static str,
        /// The rejected value, as printed.
        value: String,
    },
    /// The sample size needed for the target miss probability exceeds the cap.
    #[error("sample size {needed} exceeds the cap of {max}")]
    SampleTooLarge {
        /// m = ceil(ln p / ln q), saturated.
        needed: u64,
        /// The cap (`sampling::MAX_SAMPLE_SIZE`).
        max: u32,
    },
    /// A job was split among zero calculators.
    #[error("a job needs at least one calculator")]
    ZeroCalculators,
    /// More calculators than work items (search: x values) to share.
    #[error("{calculators} calculators for only {work_items} work items")]
    TooManyCalculators {
        /// Requested number of calculators.
        calculators: u64,
        /// Number of work items available.
        work_items: u64,
    },
    /// A search range [lo, hi) with lo >= hi.
    #[error("empty search range [{lo}, {hi})")]
    EmptyRange {
        /// Inclusive lower end.
        lo: u64,
        /// Exclusive upper end.
        hi: u64,
    },
    /// The search function needs k >= 1 hash rounds.
    #[error("the search function needs at least one hash round")]
    ZeroRounds,
    /// The leading-zero predicate asks for more bits than a SHA-256 output has.
    #[error("difficulty of {bits} leading zero bits exceeds 256")]
    DifficultyTooHigh {
        /// Requested number of leading zero bits.
        bits: u32,
    },
    /// A dimension that must be positive is zero.
    #[error("dimension {what} must be positive")]
    ZeroDimension {
        /// Which dimension.
        what: &'static str,
    },
    /// Two sizes that must agree do not.
    #[error("dimension mismatch for {what}: expected {expected}, got {got}")]
    DimensionMismatch {
        /// What was measured.
        what: &'static str,
        /// The size required.
        expected: u64,
        /// The size found.
        got: u64,
    },
    /// The job is too large to run (documented caps in `task::search` / `task::linear`).
    #[error("{what} of {work} exceeds the cap of {max}")]
    WorkTooLarge {
        /// What was measured.
        what: &'static str,
        /// The amount requested (saturated).
        work: u64,
        /// The cap.
        max: u64,
    },
    /// A value is not a canonical element of the field mod 2^61 - 1.
    #[error("{value} is not a canonical field element (must be < 2^61 - 1)")]
    FieldElementOutOfRange {
        /// The rejected value.
        value: u64,
    },
    /// Bytes that do not decode to the expected canonical encoding.
    #[error("malformed {what}: {reason}")]
    Malformed {
        /// What was being decoded.
        what: &'static str,
        /// Why it was rejected.
        reason: String,
    },
    /// A sub-task, result or secret of one task kind was given to another kind.
    #[error("task kind mismatch: expected {expected}, got {got}")]
    KindMismatch {
        /// The kind required.
        expected: &'static str,
        /// The kind found.
        got: &'static str,
    },
    /// The openings do not answer the sampled indices one for one.
    #[error("no opening for sampled leaf {index} (position {position} of the sample)")]
    OpeningMissing {
        /// Position in the sample.
        position: u64,
        /// The sampled leaf index that has no matching opening.
        index: u64,
    },
    /// A sampled leaf is wrong; which one and why.
    #[error("leaf {index} rejected: {fault}")]
    LeafRejected {
        /// 0-based leaf index.
        index: u64,
        /// Why the leaf is wrong.
        fault: crate::task::LeafFault,
    },
    /// A claimed search hit is wrong.
    #[error("claimed hit x = {x} rejected: {reason}")]
    HitRejected {
        /// The claimed x.
        x: u64,
        /// Why it was rejected.
        reason: &'static str,
    },
    /// A search result's hits are not strictly increasing (the canonical
    /// order, which a sample check relies on).
    #[error("hit x = {x} at position {position} is not above the previous hit")]
    HitsNotIncreasing {
        /// 0-based position of the offending hit in the result.
        position: u64,
        /// The offending hit.
        x: u64,
    },
    /// The linear result failed O's Freivalds check v^T r_i == u . x_i.
    #[error("Freivalds check failed: the result is not A x_i")]
    FreivaldsFailed,
    // ---- commitments and verdicts ----
    /// A chain value that names no settlement chain (0 is "unspecified").
    #[error("unknown chain {value}")]
    UnknownChain {
        /// The rejected byte / enum value.
        value: u8,
    },
    /// A commitment of a chain whose signature scheme is not checked here.
    /// No longer produced (both chains use BIP-340 commitments); kept so
    /// matching callers still compile.
    #[error("commitment signatures of chain {chain} are not BIP-340")]
    UnsupportedCommitmentChain {
        /// The chain byte of the commitment.
        chain: u8,
    },
    /// The commitment signature does not verify under the calculator's key.
    #[error("commitment signature does not verify under the calculator's key")]
    BadCommitmentSignature,
    /// A catch-all for an invalid parameter, with the reason.
    #[error("invalid parameter: {0}")]
    InvalidParameter(String),
}
