// SPDX-License-Identifier: UNLICENSED
pragma solidity 0.8.37;

/// @title ReentrantClaimer
/// @notice TEST ONLY: an attacker on TesseraCredits' payout vault, used by
/// contracts/reentrancy_test.go. The hub never deploys it; it has no Go
/// binding (the test reads build/ReentrantClaimer.abi and .bin).
///
/// It is an owner in a model's earnings tree. When the vault pays it, its
/// receive() re-enters the vault with each call it was armed with, in
/// order, each at most once (typically claim again with the same leaf and
/// proof: the classic double payout against a vault that updates its books
/// after paying). It catches each re-entry's revert and records the
/// outcome instead of reverting the payment, so the test can see the
/// vault's guard refuse the re-entry while the outer claim succeeds. If a
/// re-entry does pay, the nested receive() goes on with the next armed
/// call, as a real attacker would keep draining.
///
/// In Refuse mode receive() reverts instead: a payment to it fails.
contract ReentrantClaimer {
    /// @notice What receive() does with a payment.
    enum Mode {
        Reenter,
        Refuse
    }

    /// @notice The outcome of one re-entry.
    struct Attempt {
        bool tried;
        bool ok;
        bytes returnData;
    }

    /// @notice Refuse mode's revert.
    error Refused(uint256 amount);

    /// @notice The vault attacked.
    address public immutable vault;

    /// @notice What receive() does; set by arm.
    Mode public mode;

    /// @notice Payments received from the vault, and their sum in wei.
    uint256 public payments;
    uint256 public received;

    bytes[] private _reentries;
    uint256 private _next;
    mapping(uint256 index => Attempt) private _attempts;

    constructor(address vault_) {
        vault = vault_;
    }

    /// @notice Sets the mode and the calls receive() sends back to the vault,
    /// forgetting earlier outcomes.
    function arm(Mode mode_, bytes[] calldata reentries) external {
        for (uint256 i; i < _reentries.length; i++) {
            delete _attempts[i];
        }
        delete _reentries;
        for (uint256 i; i < reentries.length; i++) {
            _reentries.push(reentries[i]);
        }
        _next = 0;
        mode = mode_;
    }

    /// @notice Sends `claimCall` (a claim for this contract) to the vault,
    /// reverting with the vault's own revert data if it fails.
    function attack(bytes calldata claimCall) external {
        (bool ok, bytes memory ret) = vault.call(claimCall);
        if (!ok) {
            assembly ("memory-safe") {
                revert(add(ret, 32), mload(ret))
            }
        }
    }

    /// @notice The outcome of the re-entry armed at `index`; tried is false
    /// if receive() never got to it.
    function attempt(uint256 index) external view returns (bool tried, bool ok, bytes memory returnData) {
        Attempt storage a = _attempts[index];
        return (a.tried, a.ok, a.returnData);
    }

    receive() external payable {
        if (msg.sender != vault) return;
        if (mode == Mode.Refuse) revert Refused(msg.value);
        payments++;
        received += msg.value;
        while (_next < _reentries.length) {
            uint256 i = _next++;
            (bool ok, bytes memory ret) = vault.call(_reentries[i]);
            _attempts[i] = Attempt(true, ok, ret);
        }
    }
}
