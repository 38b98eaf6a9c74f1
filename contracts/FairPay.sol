// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

/// @title FairPay: one long-lived contract settling every BAPay job on Ethereum.
/// @notice PROTOCOL.md section 5. A job is an outsourcer O paying a worker W a
/// reward for one sub-task; W posts a bond and commits the Merkle root of its
/// results; W is paid reward + bond from time t on unless the arbiter T judged
/// it at fault before t (then O gets reward + bond), O proved a wrong search
/// leaf on chain (same), or the group's collusion trap moved the reward.
///
/// Storage: ONE slot per job. The job's parameters are never stored; every
/// call passes them in calldata and the contract re-hashes them:
///   id = keccak256(abi.encode(job))
///   state[id] = 0            no such job, or settled (the slot is cleared, refund)
///             = OPEN        (1) opened, reward escrowed, no bond/commitment yet
///             = BOND_LEFT   (2) group trapped, the trapper took the reward; the
///                               bond waits for its worker at t
///             = REWARD_LEFT (3) group trapped, the worker took its bond back at
///                               t; the reward waits for the trapper
///             = root        (> 3) bond posted and results committed
/// Plus one slot per trapped collusion group (trappedTo[group]).
///
/// Collusion group: group = keccak256(abi.encode(collusionAddress, workers)),
/// fixed in every job of the group. A worker checks the group (and every
/// other field) before it posts its bond.
///
/// The trap reaches rewards only (O's money), never a bond. O knows every
/// message, hence the collusion secret: O plus one sybil worker of the group
/// can spring the trap. If the trap took bonds, that pair would take every
/// honest worker's bond of the group. So a trapped job's reward goes to the
/// trapper (claimTrapped) and its bond back to its worker at t (payout), in
/// either order; and commit refuses a trapped group, so no bond is posted
/// after a trap. The price: once trapped, no job of the group can be judged
/// or disputed (its reward is gone), so a worker's bond is no longer at stake
/// for a fault.
contract FairPay {
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

    bytes32 internal constant OPEN = bytes32(uint256(1));
    bytes32 internal constant BOND_LEFT = bytes32(uint256(2));
    bytes32 internal constant REWARD_LEFT = bytes32(uint256(3));
    /// @notice Upper bound on k for the on-chain recomputation of f (bounds gas:
    /// about 200 gas per round).
    uint32 public constant MAX_ROUNDS = 20_000;
    bytes32 public constant SEARCH_TERMS_TAG = keccak256("BAPay/FairPay/search-terms/v1");
    bytes32 public constant TRAP_TAG = keccak256("BAPay/FairPay/trap/v1");
    /// @dev secp256k1 n / 2: signatures with a higher s are rejected (EIP-2).
    uint256 internal constant HALF_N = 0x7fffffffffffffffffffffffffffffff5d576e7357a4501ddfe92f46681b20a0;

    mapping(bytes32 id => bytes32) public state;
    mapping(bytes32 group => address) public trappedTo;
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
    error TooManyRounds();
    error TransferFailed();
    error Reentrancy();

    /// @dev Transient-storage guard on every function that sends ether (their
    /// state is also cleared before the transfer). open, commit and trap make
    /// no external call and need none.
    modifier nonReentrant() {
        if (locked) revert Reentrancy();
        locked = true;
        _;
        locked = false;
    }

    /// @notice O opens a job and escrows the reward (msg.value == job.reward).
    function open(Job calldata job) external payable returns (bytes32 id) {
        if (msg.sender != job.outsourcer) revert WrongCaller();
        if (msg.value != job.reward || job.reward == 0) revert WrongValue();
        if (
            job.worker == address(0) || job.commitDeadline <= block.timestamp
                || job.payoutTime <= job.commitDeadline
        ) revert BadJob();
        id = _id(job);
        if (state[id] != 0) revert JobExists();
        state[id] = OPEN;
        emit JobOpened(id, job.worker, job.group);
    }

    /// @notice W posts the bond (msg.value == job.bond) and commits its Merkle
    /// root (any value above the markers: uint256(root) > 3), strictly before
    /// the commit deadline, and only while the group is not trapped: a bond
    /// posted after a trap must never be within the trapper's reach.
    function commit(Job calldata job, bytes32 root) external payable {
        if (msg.sender != job.worker) revert WrongCaller();
        if (msg.value != job.bond) revert WrongValue();
        if (block.timestamp >= job.commitDeadline) revert TooLate();
        if (!_isRoot(root)) revert BadRoot();
        bytes32 id = _id(job);
        if (state[id] != OPEN) revert WrongState();
        if (trappedTo[job.group] != address(0)) revert GroupTrapped();
        state[id] = root;
        emit Committed(id, root);
    }

    /// @notice W is paid from time t on. Group not trapped: a committed job
    /// (not judged or disputed) pays reward + bond (PaidOut). Group trapped:
    /// the bond only (BondReturned), whether or not the trapper has already
    /// taken the reward: root -> REWARD_LEFT, BOND_LEFT -> settled.
    function payout(Job calldata job) external nonReentrant {
        if (msg.sender != job.worker) revert WrongCaller();
        if (block.timestamp < job.payoutTime) revert TooEarly();
        bytes32 id = _id(job);
        bytes32 st = state[id];
        uint256 amount;
        if (trappedTo[job.group] == address(0)) {
            if (!_isRoot(st)) revert WrongState();
            delete state[id];
            amount = uint256(job.reward) + job.bond;
            emit PaidOut(id, amount);
        } else {
            if (_isRoot(st)) state[id] = REWARD_LEFT;
            else if (st == BOND_LEFT) delete state[id];
            else revert WrongState();
            amount = job.bond;
            emit BondReturned(id, msg.sender, amount);
        }
        _send(msg.sender, amount);
    }

    /// @notice T (only the job's arbiter, only before t) judges W at fault:
    /// reward + bond go to O. Only a committed job (a root, not a trap
    /// marker) of a group that is not trapped.
    function judge(Job calldata job) external nonReentrant {
        if (msg.sender != job.arbiter || msg.sender == address(0)) revert WrongCaller();
        if (block.timestamp >= job.payoutTime) revert TooLate();
        bytes32 id = _committed(job);
        if (trappedTo[job.group] != address(0)) revert GroupTrapped();
        delete state[id];
        uint256 amount = uint256(job.reward) + job.bond;
        emit Judged(id, job.outsourcer, amount);
        _send(job.outsourcer, amount);
    }

    /// @notice O takes the reward back when W did not commit by the deadline.
    function refund(Job calldata job) external nonReentrant {
        if (msg.sender != job.outsourcer) revert WrongCaller();
        if (block.timestamp < job.commitDeadline) revert TooEarly();
        bytes32 id = _id(job);
        if (state[id] != OPEN) revert WrongState();
        if (trappedTo[job.group] != address(0)) revert GroupTrapped();
        delete state[id];
        emit Refunded(id, msg.sender, job.reward);
        _send(msg.sender, job.reward);
    }

    /// @notice Trustless dispute of a search job (O only, before t): O shows the
    /// committed leaf at `position` with its Merkle proof; the contract rules
    /// W at fault iff the leaf is wrong: its index field differs from its
    /// position, or x != lo + position, or fx != SHA256^rounds(seed || be64(x)).
    /// Hits are not committed separately: the hit set is a function of the
    /// leaves (every leaf with fx having >= zeroBits leading zero bits), so a
    /// correct tree fixes the hits. A hit list that disagrees with a correct
    /// tree is an off-chain matter for the arbiter.
    function disputeSearch(
        Job calldata job,
        SearchTerms calldata s,
        uint64 position,
        SearchLeaf calldata leaf,
        bytes32[] calldata proof
    ) external nonReentrant {
        if (msg.sender != job.outsourcer) revert WrongCaller();
        if (block.timestamp >= job.payoutTime) revert TooLate();
        if (keccak256(abi.encode(SEARCH_TERMS_TAG, s)) != job.terms) revert BadTerms();
        if (s.rounds == 0 || s.rounds > MAX_ROUNDS) revert TooManyRounds();
        bytes32 id = _id(job);
        bytes32 root = state[id];
        if (!_isRoot(root)) revert WrongState();
        if (trappedTo[job.group] != address(0)) revert GroupTrapped();
        if (position >= s.leafCount) revert BadProof();
        bytes32 h = sha256(abi.encodePacked(bytes1(0x00), leaf.index, leaf.x, leaf.fx));
        if (!_verify(h, position, s.leafCount, proof, root)) revert BadProof();
        bool wrong = leaf.index != position || uint256(leaf.x) != uint256(s.lo) + position
            || leaf.fx != _f(s.seed, leaf.x, s.rounds);
        if (!wrong) revert LeafCorrect();
        delete state[id];
        uint256 amount = uint256(job.reward) + job.bond;
        emit DisputeWon(id, job.outsourcer, position, amount);
        _send(job.outsourcer, amount);
    }

    /// @notice Collusion trap. A signature by the group's collusion key over
    /// (TRAP_TAG, chain id, this contract, group, recipient), sent by the
    /// recipient itself, one of the group's workers, moves the reward of every
    /// job of the group to the recipient (O knows the collusion secret too, so
    /// the recipient must be the sender, as C_j's signature is required in the
    /// Bitcoin trap leaf). One slot per group; rewards are then collected with
    /// claimTrapped, immediately, whatever t. Bonds stay their workers' (payout
    /// at t), and the group's jobs can no longer be committed, judged, disputed
    /// or refunded.
    function trap(address collusion, address[] calldata workers, uint8 v, bytes32 r, bytes32 s) external {
        bytes32 group = keccak256(abi.encode(collusion, workers));
        bool member;
        for (uint256 i; i < workers.length; ++i) {
            if (workers[i] == msg.sender) {
                member = true;
                break;
            }
        }
        if (!member) revert NotInGroup();
        if (trappedTo[group] != address(0)) revert AlreadyTrapped();
        if (uint256(s) > HALF_N || (v != 27 && v != 28)) revert BadSignature();
        address signer = ecrecover(trapDigest(group, msg.sender), v, r, s);
        if (signer == address(0) || signer != collusion) revert BadSignature();
        trappedTo[group] = msg.sender;
        emit Trapped(group, msg.sender);
    }

    /// @notice The trap recipient collects the rewards of jobs of groups
    /// trapped to it, never a bond, any time. Per job: OPEN -> settled;
    /// root -> BOND_LEFT (the bond waits for its worker at t); REWARD_LEFT ->
    /// settled; anything else (settled, BOND_LEFT) reverts. One transfer for
    /// the batch.
    function claimTrapped(Job[] calldata jobs) external nonReentrant {
        uint256 total;
        for (uint256 i; i < jobs.length; ++i) {
            Job calldata job = jobs[i];
            if (trappedTo[job.group] != msg.sender) revert NotTrapped();
            bytes32 id = _id(job);
            bytes32 st = state[id];
            if (st == OPEN || st == REWARD_LEFT) delete state[id];
            else if (_isRoot(st)) state[id] = BOND_LEFT;
            else revert WrongState();
            total += job.reward;
            emit TrapClaimed(id, msg.sender, job.reward);
        }
        _send(msg.sender, total);
    }

    /// @notice The digest the collusion key signs (no EIP-191 prefix).
    function trapDigest(bytes32 group, address recipient) public view returns (bytes32) {
        return keccak256(abi.encode(TRAP_TAG, block.chainid, address(this), group, recipient));
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
    /// is its 9 words in place). Dirty high bits would only give an id nobody
    /// else computes: fields are validated when read, so such a job can never
    /// be used by anyone but its (self-harming) outsourcer.
    function _id(Job calldata job) internal pure returns (bytes32 id) {
        assembly ("memory-safe") {
            let p := mload(0x40)
            calldatacopy(p, job, 288)
            id := keccak256(p, 288)
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
