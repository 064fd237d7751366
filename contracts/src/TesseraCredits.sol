// SPDX-License-Identifier: UNLICENSED
pragma solidity 0.8.37;

import {AccessControl} from "@openzeppelin/contracts/access/AccessControl.sol";
import {MerkleProof} from "@openzeppelin/contracts/utils/cryptography/MerkleProof.sol";
import {ReentrancyGuardTransient} from "@openzeppelin/contracts/utils/ReentrancyGuardTransient.sol";

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
/// A commit stores only the roots and their totals, so its gas does not
/// depend on the number of contributors.
///
/// Revenue: the contract is also each model's payout vault. Anyone deposits
/// a model's revenue (`deposit`); with every epoch the hub commits a second
/// tree, the earnings tree, over (account, cumulative earnings in wei) leaves
/// in the same StandardMerkleTree encoding: each owner's running total of
/// their pro-rata share of the model's revenue. Anyone can then `claim` for
/// an owner against the model's latest earnings root: the contract pays the
/// owner their cumulative earnings minus what it already paid them (the
/// cumulative Merkle-distributor pattern), so a claim with an older or a
/// repeated proof pays nothing twice, and it never pays out more for a model
/// than was deposited for it.
///
/// Roles: AccessControl rather than Ownable, so that the key that commits
/// (the hub's hot key, used every epoch) is not the key that governs. The
/// admin (a cold key or multisig) grants COMMITTER_ROLE to the hub and
/// revokes it if the hub's key leaks; a leaked committer key cannot grant
/// itself anything, rotate the admin or lock the admin out, as an Ownable
/// owner could by transferring ownership.
contract TesseraCredits is AccessControl, ReentrancyGuardTransient {
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

    /// @notice What was committed for one model and epoch about its revenue.
    /// @param root Merkle root over (account, cumulative earnings in wei) leaves;
    /// zero for an epoch committed without an earnings tree.
    /// @param total Sum of every owner's cumulative earnings, in wei.
    struct Earnings {
        bytes32 root;
        uint256 total;
    }

    /// @notice A commit's epoch is not above the model's latest epoch.
    error EpochNotIncreasing(bytes32 model, uint64 epoch, uint64 latest);

    /// @notice A commit's root is zero (no tree has a zero root).
    error ZeroRoot();

    /// @notice An admin or committer address is zero.
    error ZeroAddress();

    /// @notice A deposit of no value.
    error ZeroDeposit();

    /// @notice A claim's proof does not show `account`'s cumulative earnings in
    /// the model's latest earnings tree.
    error InvalidProof(bytes32 model, address account);

    /// @notice A claim's cumulative earnings are not above what `account`
    /// was already paid.
    error NothingToClaim(bytes32 model, address account, uint256 cumulativeEarnings, uint256 alreadyClaimed);

    /// @notice The model's vault holds less than the claim is owed: `available`
    /// is what was deposited for the model and not yet claimed.
    error VaultShort(bytes32 model, uint256 owed, uint256 available);

    /// @notice Sending the claimed value to `account` failed.
    error PaymentFailed(address account, uint256 amount);

    /// @notice Emitted for every commit.
    event EpochCommitted(
        bytes32 indexed model, uint64 indexed epoch, bytes32 root, uint256 total, uint64 contributors
    );

    /// @notice Emitted for every commit, beside EpochCommitted: the epoch's earnings tree.
    event EarningsCommitted(bytes32 indexed model, uint64 indexed epoch, bytes32 earningsRoot, uint256 earningsTotal);

    /// @notice Emitted for every deposit.
    event Deposited(bytes32 indexed model, address indexed from, uint256 amount);

    /// @notice Emitted for every claim: `amount` paid to `account`, whose
    /// cumulative earnings are now all paid.
    event Claimed(bytes32 indexed model, address indexed account, uint256 amount, uint256 cumulative);

    mapping(bytes32 model => uint64) private _latest;
    mapping(bytes32 model => mapping(uint64 epoch => Epoch)) private _epochs;
    mapping(bytes32 model => mapping(uint64 epoch => Earnings)) private _earnings;
    mapping(bytes32 model => uint256) private _deposited;
    mapping(bytes32 model => uint256) private _totalClaimed;
    mapping(bytes32 model => mapping(address account => uint256)) private _claimed;

    /// @param admin Holds DEFAULT_ADMIN_ROLE: grants and revokes committers.
    /// @param committer Receives COMMITTER_ROLE: the hub's key.
    constructor(address admin, address committer) {
        if (admin == address(0) || committer == address(0)) revert ZeroAddress();
        _grantRole(DEFAULT_ADMIN_ROLE, admin);
        _grantRole(COMMITTER_ROLE, committer);
    }

    /// @notice Commits the credit tree and the earnings tree (root `earnRoot`,
    /// total `earnTotal` wei) of `model` at `epoch`. Epochs start at 1 and strictly increase per model (gaps are
    /// allowed); 0 means "none yet". A zero `earnRoot` commits no earnings
    /// tree (claims are refused until an epoch that has one): the hub sends it
    /// only for an epoch it prepared before it metered revenue.
    function commit(
        bytes32 model,
        uint64 epoch,
        bytes32 root,
        uint256 total,
        uint64 contributors,
        bytes32 earnRoot,
        uint256 earnTotal
    ) external onlyRole(COMMITTER_ROLE) {
        uint64 latest = _latest[model];
        if (epoch <= latest) revert EpochNotIncreasing(model, epoch, latest);
        if (root == bytes32(0)) revert ZeroRoot();
        _latest[model] = epoch;
        _epochs[model][epoch] = Epoch(root, total, contributors, uint64(block.timestamp));
        _earnings[model][epoch] = Earnings(earnRoot, earnTotal);
        emit EpochCommitted(model, epoch, root, total, contributors);
        emit EarningsCommitted(model, epoch, earnRoot, earnTotal);
    }

    /// @notice Adds the value sent to `model`'s vault, from which its owners'
    /// claims are paid. Anyone may deposit.
    function deposit(bytes32 model) external payable {
        if (msg.value == 0) revert ZeroDeposit();
        _deposited[model] += msg.value;
        emit Deposited(model, msg.sender, msg.value);
    }

    /// @notice Pays `account` its cumulative earnings in `model` minus what it
    /// was already paid, given `proof` that (account, cumulativeEarnings) is a
    /// leaf of the model's latest earnings tree. Anyone may claim for anyone:
    /// the value always goes to `account`. Reverts with InvalidProof,
    /// NothingToClaim, VaultShort (the vault holds less than is owed; nothing
    /// is paid) or PaymentFailed.
    function claim(bytes32 model, address account, uint256 cumulativeEarnings, bytes32[] calldata proof)
        external
        nonReentrant
    {
        bytes32 root = _earnings[model][_latest[model]].root;
        if (root == bytes32(0) || !MerkleProof.verifyCalldata(proof, root, _leaf(account, cumulativeEarnings))) {
            revert InvalidProof(model, account);
        }
        uint256 already = _claimed[model][account];
        if (cumulativeEarnings <= already) revert NothingToClaim(model, account, cumulativeEarnings, already);
        uint256 amount = cumulativeEarnings - already;
        uint256 claimedBefore = _totalClaimed[model];
        uint256 available = _deposited[model] - claimedBefore;
        if (amount > available) revert VaultShort(model, amount, available);
        // Effects before the interaction.
        _claimed[model][account] = cumulativeEarnings;
        _totalClaimed[model] = claimedBefore + amount;
        emit Claimed(model, account, amount, cumulativeEarnings);
        (bool ok,) = account.call{value: amount}("");
        if (!ok) revert PaymentFailed(account, amount);
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
        return MerkleProof.verifyCalldata(proof, root, _leaf(account, amount));
    }

    /// @notice Whether `proof` shows that `account` had cumulative earnings
    /// `cumulativeEarnings` in the earnings tree committed for `model` at
    /// `epoch`. False for an epoch without one.
    function verifyEarnings(
        bytes32 model,
        uint64 epoch,
        address account,
        uint256 cumulativeEarnings,
        bytes32[] calldata proof
    ) external view returns (bool) {
        bytes32 root = _earnings[model][epoch].root;
        if (root == bytes32(0)) return false;
        return MerkleProof.verifyCalldata(proof, root, _leaf(account, cumulativeEarnings));
    }

    /// @notice The earnings root committed for `model` at `epoch`; zero if none.
    function earningsRoot(bytes32 model, uint64 epoch) external view returns (bytes32) {
        return _earnings[model][epoch].root;
    }

    /// @notice The earnings tree committed for `model` at `epoch`; all zero if none.
    function earningsInfo(bytes32 model, uint64 epoch) external view returns (Earnings memory) {
        return _earnings[model][epoch];
    }

    /// @notice Everything ever deposited for `model`, in wei.
    function deposited(bytes32 model) external view returns (uint256) {
        return _deposited[model];
    }

    /// @notice What `account` has been paid from `model`'s vault, in wei: the
    /// cumulative earnings of its latest claim.
    function claimed(bytes32 model, address account) external view returns (uint256) {
        return _claimed[model][account];
    }

    /// @notice Everything paid from `model`'s vault, in wei; never above deposited(model).
    function totalClaimed(bytes32 model) external view returns (uint256) {
        return _totalClaimed[model];
    }

    /// @dev The StandardMerkleTree leaf of (account, amount).
    function _leaf(address account, uint256 amount) private pure returns (bytes32) {
        return keccak256(bytes.concat(keccak256(abi.encode(account, amount))));
    }
}
