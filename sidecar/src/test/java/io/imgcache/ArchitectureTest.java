package io.imgcache;

import static com.tngtech.archunit.lang.syntax.ArchRuleDefinition.noClasses;

import com.tngtech.archunit.core.domain.JavaClasses;
import com.tngtech.archunit.core.importer.ClassFileImporter;
import com.tngtech.archunit.core.importer.ImportOption;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * DESIGN §2's direction of dependencies, held: {@code http → group → cache}; {@code group} defines
 * the interfaces {@code origin} and {@code peer} implement and knows no server; {@code peer} and
 * {@code origin} are client side only; {@code membership} and {@code health} only feed the ring;
 * nothing but the wiring ({@code Node}, {@code Main}, {@code Demo}) depends on {@code http}.
 */
class ArchitectureTest {
  private static JavaClasses classes;

  @BeforeAll
  static void importClasses() {
    classes = new ClassFileImporter().withImportOption(ImportOption.Predefined.DO_NOT_INCLUDE_TESTS)
        .importPackages("io.imgcache");
  }

  @Test
  void nothingButTheWiringDependsOnHttp() {
    noClasses().that().resideOutsideOfPackages("io.imgcache.http..").and().resideOutsideOfPackage("io.imgcache")
        .should().dependOnClassesThat().resideInAPackage("io.imgcache.http..")
        .check(classes);
  }

  @Test
  void groupKnowsNoServerNoClientsAndNoCluster() {
    noClasses().that().resideInAPackage("io.imgcache.group..")
        .should().dependOnClassesThat().resideInAnyPackage("io.undertow.server..", "io.imgcache.http..",
            "io.imgcache.peer..", "io.imgcache.origin..", "io.imgcache.httpclient..", "io.imgcache.membership..",
            "io.imgcache.health..", "io.imgcache.ring..")
        .check(classes);
  }

  @Test
  void cacheDependsOnNothingAboveIt() {
    noClasses().that().resideInAPackage("io.imgcache.cache..")
        .should().dependOnClassesThat().resideInAnyPackage("io.undertow.server..", "io.imgcache.group..",
            "io.imgcache.http..", "io.imgcache.peer..", "io.imgcache.origin..", "io.imgcache.membership..",
            "io.imgcache.health..")
        .check(classes);
  }

  @Test
  void peerAndOriginAreClientSideOnly() {
    noClasses().that().resideInAnyPackage("io.imgcache.peer..", "io.imgcache.origin..")
        .should().dependOnClassesThat().resideInAnyPackage("io.undertow.server..", "io.imgcache.http..")
        .check(classes);
  }

  @Test
  void membershipAndHealthOnlyFeedTheRing() {
    noClasses().that().resideInAnyPackage("io.imgcache.membership..", "io.imgcache.health..")
        .should().dependOnClassesThat().resideInAnyPackage("io.imgcache.group..", "io.imgcache.cache..",
            "io.imgcache.http..", "io.imgcache.peer..", "io.imgcache.origin..")
        .check(classes);
  }
}
