/** The consistent-hash ring (an immutable snapshot mapping each key to its owner) and this node's view of the cluster it is built from. */
package io.imgcache.ring;
