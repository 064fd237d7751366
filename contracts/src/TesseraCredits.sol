// SPDX-License-Identifier: UNLICENSED
pragma solidity 0.8.37;

import {AccessControl} from "@openzeppelin/contracts/access/AccessControl.sol";
import {MerkleProof} from "@openzeppelin/contracts/utils/cryptography/MerkleProof.sol";

/// @title TesseraCredits
/// @notice Every epoch the Tessera hub commits, per model, the Merkle root of
/// every contributor's cumulative verified credit (in FLOPs). Any contributor
/// can then prove their share against the root with `verify`.
///
/// The tree is OpenZeppelin's StandardMerkleTree with leaf encoding
/// ["address", "uint256"]: leaf = keccak256(bytes.concat(keccak256(abi.encode(account, amount)))),
/// inner nodes hash their children as a sorted pair. The hub builds the same
/// tree in Go (hub/chain/merkle).
///
/// A commit stores only the root and two totals, so its gas does not depend
/// on the number of contributors.
///
/// Roles: AccessControl rather than Ownable, so that the key that commits
/// (the hub's hot key, used every epoch) is not the key that governs. The
/// admin (a cold key or multisig) grants COMMITTER_ROLE to the hub and
/// revokes it if the hub's key leaks; a leaked committer key cannot grant
/// itself anything, rotate the admin or lock the admin out, as an Ownable
/// owner could by transferring ownership.
contract TesseraCredits is AccessControl {
    /// @notice The role allowed to commit epochs.
    bytes32 public constant COMMITTER_ROLE = keccak256("COMMITTER_ROLE");

    /// @notice What was committed for one model and epoch.
    /// @param root Merkle root over (account, cumulative credit) leaves.
    /// @param total Sum of every contributor's cumulative credit.
    /// @param contributors Number of leaves in the tree.
    /// @param committedAt Block timestamp of the commit (0: never committed).
    struct Epoch {
        bytes32 root;
        uint256 total;
        uint64 contributors;
        uint64 committedAt;
    }

    /// @notice A commit's epoch is not above the model's latest epoch.
    error EpochNotIncreasing(bytes32 model, uint64 epoch, uint64 latest);

    /// @notice A commit's root is zero (no tree has a zero root).
    error ZeroRoot();

    /// @notice An admin or committer address is zero.
    error ZeroAddress();

    /// @notice Emitted for every commit.
    event EpochCommitted(
        bytes32 indexed model, uint64 indexed epoch, bytes32 root, uint256 total, uint64 contributors
    );

    mapping(bytes32 model => uint64) private _latest;
    mapping(bytes32 model => mapping(uint64 epoch => Epoch)) private _epochs;

    /// @param admin Holds DEFAULT_ADMIN_ROLE: grants and revokes committers.
    /// @param committer Receives COMMITTER_ROLE: the hub's key.
    constructor(address admin, address committer) {
        if (admin == address(0) || committer == address(0)) revert ZeroAddress();
        _grantRole(DEFAULT_ADMIN_ROLE, admin);
        _grantRole(COMMITTER_ROLE, committer);
    }

    /// @notice Commits the credit tree of `model` at `epoch`. Epochs start at 1
    /// and strictly increase per model (gaps are allowed); 0 means "none yet".
    function commit(bytes32 model, uint64 epoch, bytes32 root, uint256 total, uint64 contributors)
        external
        onlyRole(COMMITTER_ROLE)
    {
        uint64 latest = _latest[model];
        if (epoch <= latest) revert EpochNotIncreasing(model, epoch, latest);
        if (root == bytes32(0)) revert ZeroRoot();
        _latest[model] = epoch;
        _epochs[model][epoch] = Epoch(root, total, contributors, uint64(block.timestamp));
        emit EpochCommitted(model, epoch, root, total, contributors);
    }

    /// @notice The latest committed epoch of `model`, 0 if none.
    function latestEpoch(bytes32 model) external view returns (uint64) {
        return _latest[model];
    }

    /// @notice What was committed for `model` at `epoch`; all zero if nothing was.
    function epochInfo(bytes32 model, uint64 epoch) external view returns (Epoch memory) {
        return _epochs[model][epoch];
    }

    /// @notice Whether `proof` shows that `account` had cumulative credit
    /// `amount` in the tree committed for `model` at `epoch`. False for an
    /// epoch never committed.
    function verify(bytes32 model, uint64 epoch, address account, uint256 amount, bytes32[] calldata proof)
        external
        view
        returns (bool)
    {
        bytes32 root = _epochs[model][epoch].root;
        if (root == bytes32(0)) return false;
        bytes32 leaf = keccak256(bytes.concat(keccak256(abi.encode(account, amount))));
        return MerkleProof.verifyCalldata(proof, root, leaf);
    }
}
