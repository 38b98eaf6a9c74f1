// SPDX-License-Identifier: MIT
pragma solidity 0.8.30;

/// @title ReentrantWorker: a test-only hostile party for FairPay.
/// @notice Forwards any call (with value) to the target; when it receives
/// ether it tries the armed call again (reentrancy) and records whether the
/// attempt succeeded and what it returned, without reverting itself. With
/// `rejectEther` set it refuses payments instead.
contract ReentrantWorker {
    address public immutable target;
    bytes public reentry;
    bool public attempted;
    bool public reentryOk;
    bytes public reentryReturn;
    bool public rejectEther;

    constructor(address target_) {
        target = target_;
    }

    function arm(bytes calldata call) external {
        reentry = call;
    }

    function setRejectEther(bool reject) external {
        rejectEther = reject;
    }

    function exec(bytes calldata call) external payable returns (bytes memory) {
        (bool ok, bytes memory ret) = target.call{value: msg.value}(call);
        if (!ok) {
            assembly ("memory-safe") {
                revert(add(ret, 32), mload(ret))
            }
        }
        return ret;
    }

    receive() external payable {
        if (rejectEther) revert("no ether");
        if (reentry.length != 0 && !attempted) {
            attempted = true;
            (bool ok, bytes memory ret) = target.call(reentry);
            reentryOk = ok;
            reentryReturn = ret;
        }
    }
}
