// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

/// @title FairPayBase: FairPay's types, storage, events, errors and pure helpers.
/// @notice Split out of FairPay.sol so each file reads in one sitting: the job
/// struct and its id, the Merkle check, the search function f and the ether
/// transfer are shared by the settlement rules (FairPay.sol) and the on-chain
/// challenge (FairPayAudit.sol).
abstract contract FairPayBase {
    /// @notice Everything that defines a job. Hashed into the job id.
    struct Job {
        address outsourcer; // O: pays the reward, is compensated on fault
        address worker; // W: posts the bond, commits, is paid at t
        address arbiter; // T: may judge W at fault before t (0: no arbiter)
        uint64 commitDeadline; // W must bond+commit strictly before this time
        uint64 payoutTime; // t: W is paid from this time on
        uint128 reward; // wei, deposited by O at open
        uint128 bond; // wei, deposited by W at commit
        bytes32 group; // keccak256(abi.encode(collusionAddress, workers))
        bytes32 terms; // binds O's job id and, for search jobs, the parameters
        bytes32 audit; // keccak256(abi.encode(AUDIT_TAG, Audit)); 0: no on-chain challenge
    }

    /// @notice Parameters of a search sub-task (PROTOCOL.md 2.1, commitments.md).
    /// terms = keccak256(abi.encode(SEARCH_TERMS_TAG, s)).
    struct SearchTerms {
        bytes32 jobRef; // O's protocol job id and calculator index, hashed
        bytes32 seed; // f(x) = SHA256^rounds(seed || be64(x))
        uint64 lo; // first x of the range; leaf j has x = lo + j
        uint64 leafCount; // L = hi - lo, the number of leaves in the tree
        uint32 rounds; // k >= 1, at most MAX_ROUNDS
        uint16 zeroBits; // b: a hit has at least b leading zero bits
    }

    /// @notice One committed search leaf: leaf_data = be64(index) || be64(x) || fx.
    struct SearchLeaf {
        uint64 index;
        uint64 x;
        bytes32 fx;
    }

    /// @notice The terms of O's on-chain challenge of W (FairPayAudit.sol),
    /// agreed at the offer: job.audit = keccak256(abi.encode(AUDIT_TAG, a)).
    struct Audit {
        uint64 leafCount; // leaves in W's tree (the sampled positions are below it)
        uint32 samples; // positions one challenge opens, 1..MAX_SAMPLES
        uint64 window; // seconds W has to answer a challenge, >= 1
        uint128 deposit; // wei O posts with a challenge; W's when it answers
        bool search; // a search job: the contract rules on the answered leaves
    }

    bytes32 internal constant OPEN = bytes32(uint256(1));
    bytes32 internal constant BOND_LEFT = bytes32(uint256(2));
    bytes32 internal constant REWARD_LEFT = bytes32(uint256(3));
    /// @notice Upper bound on k for the on-chain recomputation of f (bounds gas:
    /// about 200 gas per round).
    uint32 public constant MAX_ROUNDS = 20_000;
    /// @notice Upper bound on the positions one challenge opens (bounds respond's gas).
    uint32 public constant MAX_SAMPLES = 128;
    bytes32 public constant SEARCH_TERMS_TAG = keccak256("BAPay/FairPay/search-terms/v1");
    bytes32 public constant TRAP_TAG = keccak256("BAPay/FairPay/trap/v1");
    bytes32 public constant AUDIT_TAG = keccak256("BAPay/FairPay/audit/v1");
    /// @dev secp256k1 n / 2: signatures with a higher s are rejected (EIP-2).
    uint256 internal constant HALF_N = 0x7fffffffffffffffffffffffffffffff5d576e7357a4501ddfe92f46681b20a0;

    mapping(bytes32 id => bytes32) public state;
    mapping(bytes32 group => address) public trappedTo;
    /// @notice 0: never challenged; CLOSED (1): challenged and answered or
    /// claimed; else (seed << 64) | response deadline of the pending challenge.
    mapping(bytes32 id => uint256) public challenges;
    bool transient locked;

    event JobOpened(bytes32 indexed id, address indexed worker, bytes32 indexed group);
    event Committed(bytes32 indexed id, bytes32 root);
    event PaidOut(bytes32 indexed id, uint256 amount);
    event BondReturned(bytes32 indexed id, address indexed worker, uint256 amount);
    event Judged(bytes32 indexed id, address indexed outsourcer, uint256 amount);
    event Refunded(bytes32 indexed id, address indexed outsourcer, uint256 amount);
    event DisputeWon(bytes32 indexed id, address indexed outsourcer, uint64 position, uint256 amount);
    event Trapped(bytes32 indexed group, address indexed recipient);
    event TrapClaimed(bytes32 indexed id, address indexed recipient, uint256 amount);
    event Challenged(bytes32 indexed id, uint256 seed, uint64 deadline);
    event Responded(bytes32 indexed id, address indexed worker, uint256 deposit, bytes[] leaves);
    event UnansweredClaimed(bytes32 indexed id, address indexed outsourcer, uint256 amount);

    error WrongCaller();
    error WrongValue();
    error BadJob();
    error JobExists();
    error WrongState();
    error TooEarly();
    error TooLate();
    error BadRoot();
    error GroupTrapped();
    error NotTrapped();
    error AlreadyTrapped();
    error NotInGroup();
    error BadSignature();
    error BadTerms();
    error BadProof();
    error LeafCorrect();
    error LeafWrong();
    error TooManyRounds();
    error TransferFailed();
    error Reentrancy();
    error BadAudit();
    error ChallengePending();
    error NotChallenged();
    error AlreadyChallenged();

    /// @dev Transient-storage guard on every function that sends ether (their
    /// state is also cleared before the transfer). open, commit, trap and
    /// challenge make no external call and need none.
    modifier nonReentrant() {
        if (locked) revert Reentrancy();
        locked = true;
        _;
        locked = false;
    }

    /// @notice Merkle inclusion (docs/commitments.md): SHA-256, 0x01 inner
    /// prefix, odd last node promoted. Public so tools can cross-check proofs.
    /// `leafHash` is SHA256(0x00 || leaf_data).
    function verifyProof(bytes32 leafHash, uint64 index, uint64 leafCount, bytes32[] calldata proof, bytes32 root)
        external
        view
        returns (bool)
    {
        return index < leafCount && _verify(leafHash, index, leafCount, proof, root);
    }

    /// @notice f(seed, x) = SHA256^rounds(seed || be64(x)), rounds <= MAX_ROUNDS.
    function searchF(bytes32 seed, uint64 x, uint32 rounds) external view returns (bytes32) {
        if (rounds == 0 || rounds > MAX_ROUNDS) revert TooManyRounds();
        return _f(seed, x, rounds);
    }

    /// @dev keccak256(abi.encode(job)) straight from calldata (a static struct
    /// is its 10 words in place). Dirty high bits would only give an id nobody
    /// else computes: fields are validated when read, so such a job can never
    /// be used by anyone but its (self-harming) outsourcer.
    function _id(Job calldata job) internal pure returns (bytes32 id) {
        assembly ("memory-safe") {
            let p := mload(0x40)
            calldatacopy(p, job, 320)
            id := keccak256(p, 320)
        }
    }

    /// @dev The job's id, reverting WrongState unless it holds a committed root
    /// (0, OPEN, BOND_LEFT and REWARD_LEFT are not committed).
    function _committed(Job calldata job) internal view returns (bytes32 id) {
        id = _id(job);
        if (!_isRoot(state[id])) revert WrongState();
    }

    /// @dev A committed root, not one of the markers 0..3.
    function _isRoot(bytes32 st) internal pure returns (bool) {
        return uint256(st) > uint256(REWARD_LEFT);
    }

    /// @dev Reverts BadTerms unless `s` are the job's search terms, and
    /// TooManyRounds if f cannot be recomputed within the bound.
    function _checkSearch(Job calldata job, SearchTerms calldata s) internal pure {
        if (keccak256(abi.encode(SEARCH_TERMS_TAG, s)) != job.terms) revert BadTerms();
        if (s.rounds == 0 || s.rounds > MAX_ROUNDS) revert TooManyRounds();
    }

    /// @dev Is `leaf` the correct search leaf at `position`: its index field is
    /// its position, x = lo + position and fx = SHA256^rounds(seed || be64(x))?
    function _searchLeafCorrect(SearchTerms calldata s, uint64 position, SearchLeaf calldata leaf)
        internal
        view
        returns (bool)
    {
        return leaf.index == position && uint256(leaf.x) == uint256(s.lo) + position
            && leaf.fx == _f(s.seed, leaf.x, s.rounds);
    }

    /// @dev SHA256(0x00 || be64(index) || be64(x) || fx), the search leaf hash.
    function _searchLeafHash(SearchLeaf calldata leaf) internal pure returns (bytes32) {
        return sha256(abi.encodePacked(bytes1(0x00), leaf.index, leaf.x, leaf.fx));
    }

    /// @dev `h` is the leaf hash (SHA256(0x00 || leaf_data)).
    function _verify(bytes32 h, uint64 index, uint64 n, bytes32[] calldata proof, bytes32 root)
        internal
        view
        returns (bool)
    {
        uint256 k;
        uint256 i = index;
        uint256 m = n;
        while (m > 1) {
            if (!(i == m - 1 && m % 2 == 1)) {
                if (k >= proof.length) return false;
                h = i % 2 == 0 ? _node(h, proof[k]) : _node(proof[k], h);
                ++k;
            }
            i /= 2;
            m = (m + 1) / 2;
        }
        return k == proof.length && h == root;
    }

    function _node(bytes32 l, bytes32 r) internal view returns (bytes32 out) {
        assembly ("memory-safe") {
            let p := mload(0x40)
            mstore8(p, 0x01)
            mstore(add(p, 1), l)
            mstore(add(p, 33), r)
            if iszero(staticcall(gas(), 0x02, p, 65, 0x00, 0x20)) { revert(0, 0) }
            out := mload(0x00)
        }
    }

    function _f(bytes32 seed, uint64 x, uint32 rounds) internal view returns (bytes32 out) {
        assembly ("memory-safe") {
            let p := mload(0x40)
            mstore(p, seed)
            mstore(add(p, 32), shl(192, x))
            if iszero(staticcall(gas(), 0x02, p, 40, 0x00, 0x20)) { revert(0, 0) }
            for { let j := 1 } lt(j, rounds) { j := add(j, 1) } {
                if iszero(staticcall(gas(), 0x02, 0x00, 0x20, 0x00, 0x20)) { revert(0, 0) }
            }
            out := mload(0x00)
        }
    }

    function _send(address to, uint256 amount) internal {
        (bool ok,) = to.call{value: amount}("");
        if (!ok) revert TransferFailed();
    }
}
