// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

import {FairPayBase} from "./FairPayBase.sol";

/// @title FairPayAudit: O's on-chain challenge of a silent worker.
/// @notice Without it a worker that commits its root and then never hands
/// over its result, or never opens its sample, is paid at t: nobody can show
/// it at fault. With it, O challenges the committed root with a random c and
/// a deposit; the contract fixes the sampled positions from c and the job; W
/// must show those leaves with their Merkle proofs within the window.
///   - W answers in time: it gets O's deposit (which pays its gas, so
///     challenging an honest worker costs O, not W); its payout at t stands.
///     For a search job the contract also checks each answered leaf (a wrong
///     one is no answer); for other kinds the leaves are in the Responded
///     event, for O and T to judge off chain.
///   - W does not: from the deadline on, O takes reward + bond + its deposit
///     back (claimUnanswered).
/// A job is challenged at most once, only while it is committed, not trapped,
/// and early enough that the window ends at least one window before t (O
/// keeps time to dispute the answer). A pending challenge blocks payout,
/// judge and disputeSearch until it is answered or claimed. In a trapped
/// group, where no bond is at stake any more, claimUnanswered returns only
/// the deposit.
abstract contract FairPayAudit is FairPayBase {
    uint256 internal constant CLOSED = 1;

    /// @notice O challenges W's committed root with `c` and the audit's
    /// deposit (msg.value == a.deposit).
    function challenge(Job calldata job, Audit calldata a, bytes32 c) external payable {
        if (msg.sender != job.outsourcer) revert WrongCaller();
        _checkAudit(job, a);
        if (msg.value != a.deposit) revert WrongValue();
        if (block.timestamp + 2 * uint256(a.window) > job.payoutTime) revert TooLate();
        bytes32 id = _committed(job);
        if (trappedTo[job.group] != address(0)) revert GroupTrapped();
        if (challenges[id] != 0) revert AlreadyChallenged();
        uint256 seed = uint256(uint192(uint256(keccak256(abi.encode(c, id, state[id]))))) | 1;
        uint64 deadline = uint64(block.timestamp + a.window);
        challenges[id] = (seed << 64) | deadline;
        emit Challenged(id, seed, deadline);
    }

    /// @notice W answers a pending challenge of a job of any kind but search:
    /// leaves[k] is the leaf data at challengePositions(...)[k], proofs[k]
    /// its Merkle proof against the committed root. Pays W the deposit.
    function respond(Job calldata job, Audit calldata a, bytes[] calldata leaves, bytes32[][] calldata proofs)
        external
        nonReentrant
    {
        if (a.search) revert BadAudit();
        (bytes32 id, uint256 seed) = _answerable(job, a, leaves.length, proofs.length);
        bytes32 root = state[id];
        for (uint256 k; k < leaves.length; ++k) {
            bytes32 h = sha256(abi.encodePacked(bytes1(0x00), leaves[k]));
            if (!_verify(h, _position(seed, k, a.leafCount), a.leafCount, proofs[k], root)) revert BadProof();
        }
        challenges[id] = CLOSED;
        emit Responded(id, msg.sender, a.deposit, leaves);
        _send(msg.sender, a.deposit);
    }

    /// @notice W answers a pending challenge of a search job: each answered
    /// leaf must be in the tree at its sampled position and correct (else
    /// LeafWrong: a wrong leaf is no answer). Pays W the deposit.
    function respondSearch(
        Job calldata job,
        Audit calldata a,
        SearchTerms calldata s,
        SearchLeaf[] calldata leaves,
        bytes32[][] calldata proofs
    ) external nonReentrant {
        if (!a.search) revert BadAudit();
        _checkSearch(job, s);
        if (s.leafCount != a.leafCount) revert BadAudit();
        (bytes32 id, uint256 seed) = _answerable(job, a, leaves.length, proofs.length);
        bytes32 root = state[id];
        for (uint256 k; k < leaves.length; ++k) {
            uint64 p = _position(seed, k, a.leafCount);
            if (!_verify(_searchLeafHash(leaves[k]), p, a.leafCount, proofs[k], root)) revert BadProof();
            if (!_searchLeafCorrect(s, p, leaves[k])) revert LeafWrong();
        }
        challenges[id] = CLOSED;
        emit Responded(id, msg.sender, a.deposit, new bytes[](0));
        _send(msg.sender, a.deposit);
    }

    /// @notice O, from the response deadline on, when W did not answer:
    /// reward + bond + deposit go to O (a trapped group: the deposit only).
    function claimUnanswered(Job calldata job, Audit calldata a) external nonReentrant {
        if (msg.sender != job.outsourcer) revert WrongCaller();
        _checkAudit(job, a);
        bytes32 id = _id(job);
        uint256 ch = challenges[id];
        if (ch >> 64 == 0) revert NotChallenged();
        if (block.timestamp < uint64(ch)) revert TooEarly();
        challenges[id] = CLOSED;
        uint256 amount = a.deposit;
        if (trappedTo[job.group] == address(0)) {
            // A pending challenge kept the job committed: nothing else could settle it.
            if (!_isRoot(state[id])) revert WrongState();
            delete state[id];
            amount += uint256(job.reward) + job.bond;
        }
        emit UnansweredClaimed(id, msg.sender, amount);
        _send(msg.sender, amount);
    }

    /// @notice The positions a pending challenge of job `id` opens (for W and
    /// tools; respond recomputes them).
    function challengePositions(bytes32 id, Audit calldata a) external view returns (uint64[] memory ps) {
        uint256 ch = challenges[id];
        if (ch >> 64 == 0) revert NotChallenged();
        ps = new uint64[](a.samples);
        for (uint256 k; k < a.samples; ++k) {
            ps[k] = _position(ch >> 64, k, a.leafCount);
        }
    }

    /// @dev Reverts Challenged while a challenge of `id` waits for its answer.
    function _unchallenged(bytes32 id) internal view {
        if (challenges[id] >> 64 != 0) revert ChallengePending();
    }

    /// @dev `a` are the job's audit terms, and usable ones.
    function _checkAudit(Job calldata job, Audit calldata a) internal pure {
        if (job.audit == bytes32(0) || keccak256(abi.encode(AUDIT_TAG, a)) != job.audit) revert BadAudit();
        if (a.leafCount == 0 || a.samples == 0 || a.samples > MAX_SAMPLES || a.window == 0) revert BadAudit();
    }

    /// @dev The caller is W, the audit is the job's, a challenge is pending and
    /// its deadline not reached, the job is committed, and there is one leaf
    /// and one proof per sample. Returns the id and the challenge's seed.
    function _answerable(Job calldata job, Audit calldata a, uint256 nLeaves, uint256 nProofs)
        internal
        view
        returns (bytes32 id, uint256 seed)
    {
        if (msg.sender != job.worker) revert WrongCaller();
        _checkAudit(job, a);
        id = _committed(job);
        uint256 ch = challenges[id];
        seed = ch >> 64;
        if (seed == 0) revert NotChallenged();
        if (block.timestamp >= uint64(ch)) revert TooLate();
        if (nLeaves != a.samples || nProofs != a.samples) revert BadProof();
    }

    /// @dev Sampled position k: keccak256(abi.encode(seed, k)) mod leafCount.
    function _position(uint256 seed, uint256 k, uint64 leafCount) internal pure returns (uint64) {
        return uint64(uint256(keccak256(abi.encode(seed, k))) % leafCount);
    }
}
