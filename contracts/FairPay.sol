// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

import {FairPayAudit} from "./sol/FairPayAudit.sol";

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
///
/// Types, storage, events, errors and helpers: sol/FairPayBase.sol. O's
/// on-chain challenge of a silent worker (challenge, respond, respondSearch,
/// claimUnanswered): sol/FairPayAudit.sol.
contract FairPay is FairPayAudit {
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
            _unchallenged(id);
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
        _unchallenged(id);
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
        _checkSearch(job, s);
        bytes32 id = _id(job);
        bytes32 root = state[id];
        if (!_isRoot(root)) revert WrongState();
        if (trappedTo[job.group] != address(0)) revert GroupTrapped();
        _unchallenged(id);
        if (position >= s.leafCount) revert BadProof();
        if (!_verify(_searchLeafHash(leaf), position, s.leafCount, proof, root)) revert BadProof();
        if (_searchLeafCorrect(s, position, leaf)) revert LeafCorrect();
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
}
